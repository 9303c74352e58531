"""Benchmark: ingest over loopback from a simulated DWD mirror, against what the same bytes cost at least.

Builds (or reuses) a simulated DWD mirror, serves it with ``weatherinsight.mirror.server`` on 127.0.0.1 in a
separate process (so server and client do not share one GIL) and measures, in the same run:

``--scenario quarter`` (the default; issue #19 "ingest near its limit"):

* ``limit``   — the files ``ingest --quarter Q`` selects (every product: the station list, the historical zips
  overlapping Q, every recent zip), fetched with the same number of concurrent requests (``pools.api_calls``)
  by one ``httpx.Client``, each body sha256-hashed while it streams in and every zip member inflated (CRC
  checked by ``zipfile``): download + inflate + hash, nothing else;
* ``ingest``  — ``weatherinsight.ingest.ingest_product(..., quarter=Q)`` for each product into a fresh data
  directory, logging configured as the CLI does (INFO, JSON lines to a file): listing crawl, verification,
  atomic writes to the raw store, SQLite bookkeeping, raw dataset versions;
* ``ingest no-op revalidate`` — the same again with ``ingest.quick_check`` off (``ingest --revalidate``): a
  conditional GET per file, every one answered 304;
* ``ingest no-op`` — the same again as configured: the listing's size and time show every file unchanged (the
  quick check), so only the listings are requested.

A freshly built mirror's files are dated a day back, as a published release is (a reused one is left as it
is): otherwise the files written in the build's last minute would be fetched within their listed minute and
re-validated, not quick-checked.

Each contender runs ``--repeat`` times, alternating, and the best run counts (the machine is shared).

``--scenario archive``: every file of the mirror three ways — ``baseline``, one ``httpx.Client`` fetching file
after file into memory; ``ingest`` of every product; ``ingest no-op`` (with ``ingest.quick_check`` off, so it
measures the conditional GETs) — once with a server that answers at once and once with ``--latency`` added to every zip (a ``slow`` fault rule, standing in for the round trip to
opendata.dwd.de).

Run: ``uv run --frozen python benchmarks/ingest.py [--scenario quarter|archive] [--stations 200] [--years 2]
[--quarter 2026Q3] [--repeat 3] [--mirror DIR] [--json]``
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from _ports import free_port

from weatherinsight.cli.progress import progress_bars
from weatherinsight.dwd.client import DwdClient
from weatherinsight.dwd.products import PERIODS, PRODUCTS
from weatherinsight.ingest import ingest_product
from weatherinsight.ingest.plan import select_entries
from weatherinsight.logs import configure_logging
from weatherinsight.mirror import MIRROR_PREFIX
from weatherinsight.mirror.layout import MANIFEST
from weatherinsight.mirror.server import CONTROL_PATH
from weatherinsight.mirror.simulate import build_mirror
from weatherinsight.quarters import Quarter
from weatherinsight.settings import load_settings

#: Bytes read from the socket and from a zip member at a time in the limit contender.
_CHUNK = 1 << 20


def _build(root: Path, stations: int, years: int) -> dict[str, float]:
    if (root / MANIFEST).exists():
        return {"reused": 1.0}
    cpu = time.process_time()
    with progress_bars(prefix="mirror ") as report:
        summary = build_mirror(root, stations=stations, years=years, seed=1, progress=report, workers=2)
    published = time.time() - 86400  # a day back (module docstring)
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (published, published))
    return {
        "rows": float(summary.rows),
        "files": float(summary.files),
        "seconds": summary.seconds,
        "rows_per_s_wall": summary.rows_per_second,
        "parent_cpu_s": time.process_time() - cpu,
    }


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


def _ingest(
    base_url: str, data_dir: Path, quarter: Quarter | None = None, *, quick_check: bool = True
) -> dict[str, float]:
    settings = load_settings(
        data_dir=data_dir,
        dwd_base_url=base_url,
        raw_store_url=str(data_dir / "raw"),
        ingest={"quick_check": quick_check},
    )
    cpu = _cpu()
    started = time.perf_counter()
    files = total = quick = 0
    for name in PRODUCTS:
        result = ingest_product(settings, name, quarter=quarter)
        files += result.files_new + result.files_changed + result.files_unchanged
        total += result.bytes_downloaded
        quick += result.files_quick_checked
    return {
        "files": files,
        "quick_checked": quick,
        "bytes": total,
        "seconds": time.perf_counter() - started,
        "client_cpu_s": _cpu() - cpu,
    }


def _quarter_urls(base_url: str, quarter: Quarter) -> list[str]:
    """The URLs ``ingest --quarter`` fetches, product by product (the same selection: ``select_entries``)."""
    urls: list[str] = []
    with DwdClient(concurrency=1) as client:
        for product in PRODUCTS.values():
            for period in PERIODS:
                entries = client.list_directory(f"{base_url}{product.directory}/{period}/")
                chosen, _ = select_entries(product, period, entries, None, [quarter])
                urls += [entry.url for entry, _ in chosen]
    return urls


def _download_inflate_hash(client: httpx.Client, url: str) -> tuple[int, int]:
    """One file at the least it costs: streamed in and hashed, then every zip member inflated (CRC checked)."""
    digest = hashlib.sha256()
    parts: list[bytes] = []
    with client.stream("GET", url) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes(_CHUNK):
            digest.update(chunk)
            parts.append(chunk)
    body = b"".join(parts)
    inflated = 0
    if url.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            for info in archive.infolist():
                with archive.open(info) as member:
                    while chunk := member.read(_CHUNK):
                        inflated += len(chunk)
    digest.hexdigest()
    return len(body), inflated


def _limit(urls: list[str], concurrency: int) -> dict[str, float]:
    cpu = _cpu()
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with (
        httpx.Client(timeout=60, limits=limits) as client,
        ThreadPoolExecutor(max_workers=concurrency) as pool,
    ):
        done = list(pool.map(lambda url: _download_inflate_hash(client, url), urls))
    return {
        "files": len(urls),
        "bytes": sum(b for b, _ in done),
        "inflated_bytes": sum(i for _, i in done),
        "seconds": time.perf_counter() - started,
        "client_cpu_s": _cpu() - cpu,
    }


@contextlib.contextmanager
def _logs_to(path: Path) -> Iterator[None]:
    """Log like the CLI (INFO, JSON lines) into ``path`` instead of the terminal."""
    with path.open("a", encoding="utf-8") as fh, contextlib.redirect_stderr(fh):
        configure_logging("INFO", "json")
        yield


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as fh:
        return sum(1 for _ in fh)


def _quarter_scenario(base_url: str, tmp: Path, quarter: Quarter, repeat: int) -> dict[str, dict[str, float]]:
    concurrency = load_settings(data_dir=tmp / "probe").pools.api_calls
    urls = _quarter_urls(base_url, quarter)
    best: dict[str, dict[str, float]] = {}

    def keep(name: str, row: dict[str, float]) -> None:
        if name not in best or row["seconds"] < best[name]["seconds"]:
            best[name] = _rates(row)

    for n in range(repeat):
        keep("limit", _limit(urls, concurrency))
        data = tmp / f"quarter{n}"
        log = tmp / f"quarter{n}.log"
        with _logs_to(log):
            first = _ingest(base_url, data, quarter)
            first["log_lines"] = _count_lines(log)
            revalidated = _ingest(base_url, data, quarter, quick_check=False)
            logged = _count_lines(log)
            again = _ingest(base_url, data, quarter)
            again["log_lines"] = _count_lines(log) - logged
        keep("ingest", first)
        keep("ingest_noop_revalidate", revalidated)
        keep("ingest_noop", again)
    ratio = best["limit"]["seconds"] / best["ingest"]["seconds"]
    best["ingest"]["share_of_limit"] = ratio
    best["limit"]["concurrency"] = concurrency
    best["limit"]["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return best


def _archive_scenario(base_url: str, port: int, tmp: Path, latency: float) -> dict[str, dict[str, float]]:
    urls = _all_urls(base_url)
    report: dict[str, dict[str, float]] = {}
    for delay in (0.0, latency):
        if delay:
            # Every zip answers after `delay` seconds, like a distant server (a "slow" fault rule).
            control = f"http://127.0.0.1:{port}{CONTROL_PATH}"
            rule = {"kind": "slow", "pattern": "*.zip", "delay": delay}
            httpx.post(control, content=json.dumps(rule)).raise_for_status()
        tag = f" +{delay * 1000:.0f}ms" if delay else ""
        data = tmp / f"data{len(report)}"
        report[f"baseline_sequential{tag}"] = _rates(_baseline(urls))
        report[f"ingest{tag}"] = _rates(_ingest(base_url, data))
        report[f"ingest_noop{tag}"] = _rates(_ingest(base_url, data, quick_check=False))
    return report


def _rates(row: dict[str, float]) -> dict[str, float]:
    s = row["seconds"]
    return {**row, "MB_per_s": row["bytes"] / 1e6 / s, "files_per_s": row["files"] / s}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", choices=("quarter", "archive"), default="quarter")
    parser.add_argument("--stations", type=int, default=200)
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--mirror", type=Path, help="reuse or build the mirror here (default: a temp dir)")
    parser.add_argument(
        "--quarter", type=Quarter.parse, help="quarter scenario: the quarter (default: the last complete one)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="quarter scenario: runs per contender")
    parser.add_argument(
        "--latency", type=float, default=0.05, help="archive scenario: per-zip server delay (s)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="wi-bench-") as tmp:
        root = args.mirror or Path(tmp) / "mirror"
        build = _build(root, args.stations, args.years)
        port = free_port()
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
            if args.scenario == "quarter":
                quarter = args.quarter or Quarter.last_complete()
                report = _quarter_scenario(base_url, Path(tmp), quarter, args.repeat)
            else:
                report = _archive_scenario(base_url, port, Path(tmp), args.latency)
        finally:
            server.terminate()
            server.wait(timeout=10)
    full: dict[str, object] = {"mirror": build, **report}
    if args.json:
        print(json.dumps(full, indent=2))
        return
    print(f"mirror: {build}")
    print(
        f"{'contender':<28}{'files':>7}{'quick':>7}{'MB':>9}{'seconds':>9}{'MB/s':>9}{'files/s':>9}"
        f"{'client CPU s':>14}"
    )
    for name, row in report.items():
        print(
            f"{name:<28}{row['files']:>7.0f}{row.get('quick_checked', 0):>7.0f}{row['bytes'] / 1e6:>9.1f}"
            f"{row['seconds']:>9.2f}{row['MB_per_s']:>9.1f}{row['files_per_s']:>9.1f}{row['client_cpu_s']:>14.1f}"
        )
    if "share_of_limit" in report.get("ingest", {}):
        share = report["ingest"]["share_of_limit"]
        print(
            f"ingest reaches {share:.0%} of the limit (target ≥ 50 %); log lines: "
            f"{report['ingest']['log_lines']:.0f} (no-op {report['ingest_noop']['log_lines']:.0f}); "
            f"peak RSS {report['limit']['peak_rss_mib']:.0f} MiB"
        )


if __name__ == "__main__":
    main()
