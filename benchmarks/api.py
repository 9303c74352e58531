"""Benchmark: API throughput and latency on loopback against a trivial endpoint of the same app (issue #7).

    uv run --frozen python benchmarks/api.py [--stations 500] [--quarters 8] [--concurrency 50] [--seconds 10]
                                             [--client wrk|httpx] [--no-pin] [--workers 1]
                                             [--loop asyncio|uvloop] [--no-hot-path] [--station-cache-rows N]
                                             [--body-cache-mb MB]
                                             [--db-url URL] [--workdir DIR] [--json FILE]

1. Seeds a curated database (SQLite file by default, or ``--db-url`` e.g. a PostgreSQL database) through the
   warehouse layer: ``stations × quarters`` published ``air_temperature`` rows (every catalog feature filled)
   plus the station list.
2. Starts ``uvicorn weatherinsight.api.app:app_factory --factory`` in its own process (one worker by default)
   on 127.0.0.1.
3. Drives it with a load generator holding ``--concurrency`` keep-alive connections, one scenario after another,
   each for ``--seconds`` after a short warm-up. ``--client wrk`` (the default when ``wrk`` is installed; Debian
   package ``wrk``) runs ``wrk -t1 -c50 --latency`` with a Lua script (a random station per request; a ``done``
   hook prints the exact request count, errors and p50/p99 in µs); ``--client httpx`` is the pure-Python async
   client (itself CPU-bound: it measures the client more than the server). On a machine with ≥ 2 cores the
   server is pinned to CPU 1 and the load generator to CPU 0 (``taskset``) so they do not fight for one core;
   ``--no-pin`` turns that off. Scenarios:
   * **trivial** — ``GET /v1/ping`` (no database): the app's ceiling through the same middleware;
   * **single-station** — ``GET /v1/features/air_temperature?station_id=N`` (a random station each request,
     all its quarters, every feature);
   * **whole-quarter** — ``GET /v1/features/air_temperature/<year>/<q>`` (all stations of one quarter).
   Reports requests/s, p50/p99 latency and errors; target: single-station ≥ 50 % of trivial's requests/s
   with p99 < 50 ms at 50 concurrent connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import httpx
from _ports import free_port
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for tests.warehouse.curated_rows (the same row builder the tests use)

from tests.warehouse.curated_rows import curated_row  # noqa: E402

from weatherinsight.quarters import Quarter  # noqa: E402
from weatherinsight.settings import load_settings  # noqa: E402
from weatherinsight.warehouse import db, lineage  # noqa: E402
from weatherinsight.warehouse.tables import curated_table, station_metadata  # noqa: E402

PRODUCT = "air_temperature"
FIRST = Quarter(2022, 1)
console = Console(width=150)


@dataclass
class Result:
    scenario: str
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    mean_bytes: float
    error_kinds: dict[str, int]
    server_p50_ms: float = float("nan")  # upper bucket bound from the app's own latency histogram
    server_p99_ms: float = float("nan")


_BUCKET = re.compile(
    r'^weatherinsight_api_request_duration_seconds_bucket\{le="([^"]+)",method="GET",route="([^"]+)"\} (\S+)$'
)


def server_buckets(base: str) -> dict[str, dict[float, float]]:
    """route → {bucket upper bound (s): cumulative count} from /v1/metrics."""
    out: dict[str, dict[float, float]] = {}
    for line in httpx.get(f"{base}/v1/metrics", timeout=30).text.splitlines():
        m = _BUCKET.match(line)
        if m:
            out.setdefault(m.group(2), {})[float(m.group(1))] = float(m.group(3))
    return out


def bucket_quantile(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """The smallest bucket bound (ms) holding the q-quantile of the requests between two scrapes."""
    delta = {le: after[le] - before.get(le, 0.0) for le in after}
    total = delta.get(float("inf"), 0.0)
    if total <= 0:
        return float("nan")
    for le in sorted(delta):
        if delta[le] >= q * total:
            return le * 1000
    return float("inf")


def seed(url: str, stations: int, quarters: int, data_dir: Path) -> list[Quarter]:
    settings = load_settings(data_dir=data_dir, database_url=url)
    db.ensure_schema(url)
    engine = db.get_engine(url)
    ids = list(range(1, stations + 1))
    with engine.begin() as conn:
        conn.execute(station_metadata.delete().where(station_metadata.c.product == PRODUCT))
        db.bulk_insert(
            conn,
            station_metadata,
            [
                {
                    "product": PRODUCT,
                    "station_id": s,
                    "name": f"Station {s}",
                    "state": "Niedersachsen",
                    "height": 10.0,
                    "lat": 47.5 + (s % 70) / 10,
                    "lon": 6.0 + (s % 90) / 10,
                    "valid_from": date(1990, 1, 1),
                }
                for s in ids
            ],
        )
    qs = [FIRST]
    while len(qs) < quarters:
        qs.append(qs[-1].next())
    for q in qs:
        with engine.begin() as conn:
            v = lineage.begin_version(conn, settings, "curated", PRODUCT, q, fingerprint=f"bench-{stations}")
            if v.is_noop:
                continue
            rows = [curated_row(PRODUCT, s, q, v.version_name, seed=q.quarter) for s in ids]
            db.bulk_insert(conn, curated_table(PRODUCT), rows)
            lineage.publish_version(conn, v, row_count=len(rows))
    db.dispose_engines()
    return qs


def pin(cpu: str | None) -> list[str]:
    """``taskset -c CPU`` prefix (nothing when not pinning)."""
    return ["taskset", "-c", cpu] if cpu is not None else []


def start_server(
    url: str,
    data_dir: Path,
    port: int,
    *,
    cpu: str | None = None,
    workers: int = 1,
    body_cache_mb: int = 64,
    loop: str = "asyncio",
    hot_path: bool = True,
    station_cache_rows: int = 100_000,
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "WEATHERINSIGHT_API_BODY_CACHE_MB": str(body_cache_mb),
        "WEATHERINSIGHT_API_HOT_PATH": str(hot_path).lower(),
        "WEATHERINSIGHT_API_STATION_CACHE_ROWS": str(station_cache_rows),
        "WEATHERINSIGHT_DATABASE_URL": url,
        "WEATHERINSIGHT_DATA_DIR": str(data_dir),
        "WEATHERINSIGHT_LOG_LEVEL": "WARNING",
    }
    cmd = [
        *pin(cpu),
        sys.executable,
        "-m",
        "uvicorn",
        "weatherinsight.api.app:app_factory",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        # Under heavy background load a pooled client connection can sit idle past uvicorn's default 5 s
        # keep-alive and be closed just as a request goes out (httpx ReadError); that is not the app's doing.
        "--timeout-keep-alive",
        "60",
        "--workers",
        str(workers),
        # `weatherinsight api serve` runs the asyncio loop: uvloop defers writing finished responses behind new
        # requests, which gave a p99 of 0.4-0.6 s at 50 connections (benchmarks/README.md); --loop uvloop compares.
        "--loop",
        loop,
    ]
    proc = subprocess.Popen(cmd, env=env, cwd=REPO)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/ping", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("uvicorn did not come up")


async def run_scenario(
    base: str,
    name: str,
    make_path: Callable[[random.Random], str],
    concurrency: int,
    seconds: float,
    warmup: float,
) -> Result:
    latencies: list[float] = []
    sizes: list[int] = []
    errors = 0
    error_kinds: dict[str, int] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker(stop_at: float, record: bool) -> None:
            nonlocal errors
            rng = random.Random()
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                try:
                    r = await client.get(make_path(rng))
                    ok = r.status_code == 200
                    size = len(r.content)
                    kind = str(r.status_code)
                except httpx.HTTPError as exc:
                    ok, size, kind = False, 0, type(exc).__name__
                if record:
                    latencies.append(time.perf_counter() - t0)
                    sizes.append(size)
                    if not ok:
                        errors += 1
                        error_kinds[kind] = error_kinds.get(kind, 0) + 1

        await asyncio.gather(*(worker(time.perf_counter() + warmup, False) for _ in range(concurrency)))
        start = time.perf_counter()
        await asyncio.gather(*(worker(start + seconds, True) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else float("nan")
    return Result(
        scenario=name,
        requests=len(latencies),
        errors=errors,
        seconds=round(elapsed, 2),
        rps=round(len(latencies) / elapsed, 1),
        p50_ms=round(statistics.median(ordered) * 1000, 2) if ordered else float("nan"),
        p99_ms=round(p99 * 1000, 2),
        mean_bytes=round(statistics.fmean(sizes), 0) if sizes else 0.0,
        error_kinds=error_kinds,
    )


_WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKRESULT {\\"requests\\": %d, \\"duration_us\\": %d, \\"bytes\\": %d, \\"p50_us\\": %d, \\"p99_us\\": %d, "
      .. "\\"connect\\": %d, \\"read\\": %d, \\"write\\": %d, \\"timeout\\": %d, \\"status\\": %d}\\n",
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status))
end
"""


def wrk_script(path: str, stations: int | None) -> str:
    """Lua for wrk: a fixed path, or (``stations``) ``path`` + a random station id per request."""
    if stations is None:
        request = f'wrk.path = "{path}"\n'
    else:
        request = (
            "math.randomseed(os.time())\n"
            f'request = function() return wrk.format("GET", "{path}" .. math.random(1, {stations})) end\n'
        )
    return request + _WRK_DONE


def run_wrk(
    base: str,
    name: str,
    script: str,
    concurrency: int,
    seconds: float,
    warmup: float,
    cpu: str | None,
    workdir: Path,
) -> Result:
    """One scenario with wrk (1 thread, ``concurrency`` connections); a discarded warm-up run first."""
    lua = workdir / f"wrk-{re.sub(r'[^a-z]+', '-', name.lower()).strip('-')}.lua"
    lua.write_text(script)

    def once(duration: float) -> tuple[dict[str, int], str]:
        cmd = [
            *pin(cpu),
            "wrk",
            "-t1",
            f"-c{concurrency}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            str(lua),
            base,
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        m = re.search(r"^WRKRESULT (\{.*\})$", out, re.M)
        if not m:
            raise RuntimeError(f"no result line in wrk output:\n{out}")
        return json.loads(m.group(1)), out

    if warmup > 0:
        once(warmup)
    res, out = once(seconds)
    rps_line = re.search(r"^Requests/sec:\s+(\S+)", out, re.M)
    elapsed = res["duration_us"] / 1e6
    kinds = {k: res[k] for k in ("connect", "read", "write", "timeout", "status") if res[k]}
    return Result(
        scenario=name,
        requests=res["requests"],
        errors=sum(kinds.values()),
        seconds=round(elapsed, 2),
        rps=float(rps_line.group(1)) if rps_line else round(res["requests"] / elapsed, 1),
        p50_ms=round(res["p50_us"] / 1000, 2),
        p99_ms=round(res["p99_us"] / 1000, 2),
        mean_bytes=round(res["bytes"] / max(1, res["requests"]), 0),
        error_kinds={("non-2xx/3xx" if k == "status" else k): v for k, v in kinds.items()},
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stations", type=int, default=500)
    ap.add_argument("--quarters", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument(
        "--client",
        choices=("wrk", "httpx"),
        default="wrk" if shutil.which("wrk") else "httpx",
        help="load generator (default: wrk when installed, else httpx)",
    )
    ap.add_argument(
        "--no-pin",
        action="store_true",
        help="do not pin the server to CPU 1 and the load generator to CPU 0 (pinning needs ≥ 2 cores)",
    )
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    ap.add_argument(
        "--body-cache-mb",
        type=int,
        default=64,
        help="the server's response-body cache (WEATHERINSIGHT_API_BODY_CACHE_MB; 0 = off)",
    )
    ap.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio", help="uvicorn event loop")
    ap.add_argument(
        "--no-hot-path",
        action="store_true",
        help="server without the hot path (WEATHERINSIGHT_API_HOT_PATH=false)",
    )
    ap.add_argument(
        "--station-cache-rows",
        type=int,
        default=100_000,
        help="the server's cache of published station rows (WEATHERINSIGHT_API_STATION_CACHE_ROWS; 0 = off)",
    )
    ap.add_argument("--db-url", default=None, help="default: a SQLite file in the workdir")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="wi-bench-api-"))
    workdir.mkdir(parents=True, exist_ok=True)
    url = args.db_url or f"sqlite:///{workdir / 'weatherinsight.db'}"
    t0 = time.perf_counter()
    quarters = seed(url, args.stations, args.quarters, workdir)
    console.print(
        f"seeded {args.stations} stations × {len(quarters)} quarters into {url} in {time.perf_counter() - t0:.1f} s"
    )
    last = quarters[-1]
    routes = {
        "trivial (/v1/ping)": "/v1/ping",
        "single-station": "/v1/features/{product}",
        "whole-quarter": "/v1/features/{product}/{year}/{quarter}",
    }
    scenarios = {
        "trivial (/v1/ping)": lambda rng: "/v1/ping",
        "single-station": lambda rng: f"/v1/features/{PRODUCT}?station_id={rng.randint(1, args.stations)}",
        "whole-quarter": lambda rng: f"/v1/features/{PRODUCT}/{last.year}/{last.quarter}",
    }
    scripts = {
        "trivial (/v1/ping)": wrk_script("/v1/ping", None),
        "single-station": wrk_script(f"/v1/features/{PRODUCT}?station_id=", args.stations),
        "whole-quarter": wrk_script(f"/v1/features/{PRODUCT}/{last.year}/{last.quarter}", None),
    }
    pinned = not args.no_pin and (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
    server_cpu, client_cpu = ("1", "0") if pinned else (None, None)
    load = os.getloadavg()
    console.print(
        f"client {args.client}, {args.concurrency} connections, server workers {args.workers}, "
        f"body cache {args.body_cache_mb} MB, station cache {args.station_cache_rows} rows, loop {args.loop}, "
        f"hot path {'off' if args.no_hot_path else 'on'}, "
        + ("server on CPU 1, client on CPU 0" if pinned else "not pinned")
        + f", load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    port = free_port()
    proc = start_server(
        url,
        workdir,
        port,
        cpu=server_cpu,
        workers=args.workers,
        body_cache_mb=args.body_cache_mb,
        loop=args.loop,
        hot_path=not args.no_hot_path,
        station_cache_rows=args.station_cache_rows,
    )
    results: list[Result] = []
    try:
        for name, make_path in scenarios.items():
            before = server_buckets(f"http://127.0.0.1:{port}").get(routes[name], {})
            if args.client == "wrk":
                res = run_wrk(
                    f"http://127.0.0.1:{port}",
                    name,
                    scripts[name],
                    args.concurrency,
                    args.seconds,
                    args.warmup,
                    client_cpu,
                    workdir,
                )
            elif pinned:
                # The Python client pins itself (this process) for the run, then lets go again.
                everything = os.sched_getaffinity(0)
                os.sched_setaffinity(0, {0})
                try:
                    res = asyncio.run(
                        run_scenario(
                            f"http://127.0.0.1:{port}",
                            name,
                            make_path,
                            args.concurrency,
                            args.seconds,
                            args.warmup,
                        )
                    )
                finally:
                    os.sched_setaffinity(0, everything)
            else:
                res = asyncio.run(
                    run_scenario(
                        f"http://127.0.0.1:{port}",
                        name,
                        make_path,
                        args.concurrency,
                        args.seconds,
                        args.warmup,
                    )
                )
            after = server_buckets(f"http://127.0.0.1:{port}").get(routes[name], {})
            res.server_p50_ms = bucket_quantile(before, after, 0.5)
            res.server_p99_ms = bucket_quantile(before, after, 0.99)
            results.append(res)
            console.print(
                f"{name}: {res.rps} req/s, p50 {res.p50_ms} ms, p99 {res.p99_ms} ms, errors {res.error_kinds or 0}"
            )
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    trivial = results[0].rps
    load = os.getloadavg()
    table = Table(
        title=f"API on loopback, {args.client}, {args.concurrency} connections, {args.seconds:.0f} s per scenario, "
        f"{args.workers} worker(s), body cache {args.body_cache_mb} MB, {'pinned' if pinned else 'not pinned'}, "
        f"load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    for col in (
        "scenario",
        "req/s",
        "% of trivial",
        "p50 ms",
        "p99 ms",
        "server p50 ≤ ms",
        "server p99 ≤ ms",
        "errors",
        "bytes/resp",
    ):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    for r in results:
        table.add_row(
            r.scenario,
            f"{r.rps:,.0f}",
            f"{100 * r.rps / trivial:.0f} %",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            f"{r.server_p50_ms:g}",
            f"{r.server_p99_ms:g}",
            str(r.errors),
            f"{r.mean_bytes:,.0f}",
        )
    console.print(table)
    single = results[1]
    met = single.rps >= 0.5 * trivial and single.p99_ms < 50 and single.errors == 0
    console.print(
        f"target (single-station ≥ 50 % of trivial, p99 < 50 ms): {'met' if met else 'NOT met'} "
        f"({100 * single.rps / trivial:.0f} %, p99 {single.p99_ms:.1f} ms)"
    )
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    main()
