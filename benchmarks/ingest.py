"""Benchmark: ingesting a 200-station × 5-product mirror over loopback, against a plain sequential download.

Builds (or reuses) a simulated DWD mirror, serves it with ``weatherinsight.mirror.server`` on 127.0.0.1 in a
separate process (so server and client do not share one GIL) and, in the same run, downloads the same
files two ways:

* ``baseline`` — one ``httpx.Client``, one file after the other, bytes kept in memory, nothing else;
* ``ingest``   — ``weatherinsight.ingest.ingest_product`` for each product: listing crawl, bounded concurrency
  (``pools.api_calls``), zip verification, atomic writes to the raw store, SQLite bookkeeping, raw versions;
* ``no-op``    — the same ingest again: every file answered 304, 0 bytes downloaded.

Reports MB/s and files/s for each. Run:
``uv run --frozen python benchmarks/ingest.py [--stations 200] [--years 2] [--mirror DIR] [--json]``
"""

from __future__ import annotations

import argparse
import json
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from weatherinsight.cli.progress import progress_bars
from weatherinsight.dwd.client import DwdClient
from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.ingest import ingest_product
from weatherinsight.mirror import MIRROR_PREFIX
from weatherinsight.mirror.layout import MANIFEST
from weatherinsight.mirror.server import CONTROL_PATH
from weatherinsight.mirror.simulate import build_mirror
from weatherinsight.settings import load_settings


def _build(root: Path, stations: int, years: int) -> dict[str, float]:
    if (root / MANIFEST).exists():
        return {"reused": 1.0}
    cpu = time.process_time()
    with progress_bars(prefix="mirror ") as report:
        summary = build_mirror(root, stations=stations, years=years, seed=1, progress=report, workers=2)
    return {
        "rows": float(summary.rows),
        "files": float(summary.files),
        "seconds": summary.seconds,
        "rows_per_s_wall": summary.rows_per_second,
        "parent_cpu_s": time.process_time() - cpu,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"mirror server at {url} did not come up")


def _all_urls(base_url: str) -> list[str]:
    urls: list[str] = []
    with DwdClient(concurrency=1) as client:
        for product in PRODUCTS.values():
            for period in ("historical", "recent"):
                listing = f"{base_url}{product.directory}/{period}/"
                urls += [e.url for e in client.list_directory(listing) if not e.is_dir]
    return urls


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # this process only: the server runs in its own
    return usage.ru_utime + usage.ru_stime


def _baseline(urls: list[str]) -> dict[str, float]:
    cpu = _cpu()
    started = time.perf_counter()
    total = 0
    with httpx.Client(timeout=60) as client:
        for url in urls:
            response = client.get(url)
            response.raise_for_status()
            total += len(response.content)
    seconds = time.perf_counter() - started
    return {"files": len(urls), "bytes": total, "seconds": seconds, "client_cpu_s": _cpu() - cpu}


def _ingest(base_url: str, data_dir: Path) -> dict[str, float]:
    settings = load_settings(data_dir=data_dir, dwd_base_url=base_url, raw_store_url=str(data_dir / "raw"))
    cpu = _cpu()
    started = time.perf_counter()
    files = total = 0
    for name in PRODUCTS:
        result = ingest_product(settings, name)
        files += result.files_new + result.files_changed + result.files_unchanged
        total += result.bytes_downloaded
    return {
        "files": files,
        "bytes": total,
        "seconds": time.perf_counter() - started,
        "client_cpu_s": _cpu() - cpu,
    }


def _rates(row: dict[str, float]) -> dict[str, float]:
    s = row["seconds"]
    return {**row, "MB_per_s": row["bytes"] / 1e6 / s, "files_per_s": row["files"] / s}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--mirror", type=Path, help="reuse or build the mirror here (default: a temp dir)")
    parser.add_argument(
        "--latency", type=float, default=0.05, help="second scenario: per-zip server delay (s)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="wi-bench-") as tmp:
        root = args.mirror or Path(tmp) / "mirror"
        build = _build(root, args.stations, args.years)
        port = _free_port()
        # The server module alone (not the whole CLI, whose imports take long on a loaded machine).
        serve = (
            "import sys, time; from pathlib import Path; from weatherinsight.mirror.server import serve; "
            "serve(Path(sys.argv[1]), port=int(sys.argv[2])); time.sleep(10**6)"
        )
        server = subprocess.Popen(
            [sys.executable, "-c", serve, str(root), str(port)], stdout=subprocess.DEVNULL
        )
        try:
            base_url = f"http://127.0.0.1:{port}/{MIRROR_PREFIX}"
            _wait_for(base_url)
            urls = _all_urls(base_url)
            report: dict[str, dict[str, float]] = {}
            for latency in (0.0, args.latency):
                if latency:
                    # Every zip answers after `latency` seconds, like a distant server (a "slow" fault rule).
                    control = f"http://127.0.0.1:{port}{CONTROL_PATH}"
                    rule = {"kind": "slow", "pattern": "*.zip", "delay": latency}
                    httpx.post(control, content=json.dumps(rule)).raise_for_status()
                tag = f" +{latency * 1000:.0f}ms" if latency else ""
                data = Path(tmp) / f"data{len(report)}"
                report[f"baseline_sequential{tag}"] = _rates(_baseline(urls))
                report[f"ingest{tag}"] = _rates(_ingest(base_url, data))
                report[f"ingest_noop{tag}"] = _rates(_ingest(base_url, data))
        finally:
            server.terminate()
            server.wait(timeout=10)
    report = {"mirror": build, **report}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"mirror: {build}")
    print(
        f"{'contender':<28}{'files':>7}{'MB':>9}{'seconds':>9}{'MB/s':>9}{'files/s':>9}{'client CPU s':>14}"
    )
    for name, row in report.items():
        if name == "mirror":
            continue
        print(
            f"{name:<28}{row['files']:>7.0f}{row['bytes'] / 1e6:>9.1f}{row['seconds']:>9.2f}"
            f"{row['MB_per_s']:>9.1f}{row['files_per_s']:>9.1f}{row['client_cpu_s']:>14.1f}"
        )


if __name__ == "__main__":
    main()
