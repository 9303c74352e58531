"""Benchmark: staging (raw DWD zips → staged Parquet) against the plain limit, with peak RSS (issue #4).

    uv run --frozen python benchmarks/stage.py [--stations 200] [--years 10] [--products all] [--workdir DIR]
        [--last-quarters N] [--parallel]

1. Builds (or reuses) a DWD mirror of ``stations × years × products`` with ``weatherinsight.mirror.simulate``
   and points a raw store at it (``<workdir>/raw/dwd/<product>`` → the mirror's product directories).
2. **Plain limit**: streams every produkt member of the same zips through ``zipfile`` + ``pyarrow.csv`` into one
   Parquet file per product — no MEZ shift, no -999 handling, no precedence, no partitioning.
3. **Ours**: ``stage_product(engine="duckdb")`` for every product into a fresh data dir (inventory + hashing,
   parsing, precedence, partitioned atomic writes, versions and station tables included).

4. With ``--last-quarters N``: ours stages only the last N quarters up to the mirror's "today" (a backfill
   batch), and a **baseline** phase stages the same quarters the way it was done before issue #19's parse
   window and shared buffer budget: every file parsed whole (``parse_window`` → None) and a fixed 1 M-row
   buffer cap per run. With ``--parallel`` both stage the products at once in threads (as a backfill does,
   up to ``pools.spark_jobs`` = 3 at a time), so the peak RSS shows the shared budget.

Each phase runs in its own child process, so its peak RSS (``ru_maxrss`` from ``wait4``) is its own. Rows/s is
over the *input* rows (every row of every zip), the same numerator for both. Target: ours ≥ 70 % of the limit.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from datetime import date
from pathlib import Path

TODAY = date(2026, 1, 15)
SEED = 7


def ensure_mirror(workdir: Path, stations: int, years: int, products: list[str]) -> Path:
    from weatherinsight.mirror.layout import MANIFEST, load_spec
    from weatherinsight.mirror.simulate import build_mirror

    mirror = workdir / "mirror"
    if (mirror / MANIFEST).exists():
        spec = load_spec(mirror)
        if (spec.stations, spec.years, spec.seed, set(spec.products)) == (
            stations,
            years,
            SEED,
            set(products),
        ):
            return mirror
        shutil.rmtree(mirror)
    t0 = time.monotonic()
    summary = build_mirror(
        mirror, stations=stations, years=years, seed=SEED, today=TODAY, products=products, workers=2
    )
    print(
        f"mirror built: {summary.files} files, {summary.rows} rows in {time.monotonic() - t0:.0f} s",
        flush=True,
    )
    return mirror


def link_raw_store(workdir: Path, mirror: Path, products: list[str]) -> Path:
    from weatherinsight.dwd.products import get_product
    from weatherinsight.mirror.layout import hourly_root

    raw = workdir / "raw"
    shutil.rmtree(raw, ignore_errors=True)
    (raw / "dwd").mkdir(parents=True)
    for name in products:
        p = get_product(name)
        (raw / "dwd" / p.directory).symlink_to(hourly_root(mirror) / p.directory, target_is_directory=True)
    return raw


def phase_limit(workdir: Path, products: list[str]) -> dict[str, float]:
    """zipfile + pyarrow.csv → Parquet, one writer per product, no transformation."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    out = workdir / "limit"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    rows = 0
    t0 = time.monotonic()
    for name in products:
        writer: pq.ParquetWriter | None = None
        for zpath in sorted((workdir / "raw" / "dwd" / name).glob("*/*.zip")):
            with zipfile.ZipFile(zpath) as zf:
                member = next(n for n in zf.namelist() if n.startswith("produkt_"))
                with zf.open(member) as stream:
                    reader = pacsv.open_csv(
                        stream,
                        read_options=pacsv.ReadOptions(block_size=8 << 20),
                        parse_options=pacsv.ParseOptions(delimiter=";"),
                    )
                    for batch in reader:
                        if writer is None:
                            writer = pq.ParquetWriter(out / f"{name}.parquet", batch.schema)
                        elif batch.schema != writer.schema:
                            batch = batch.cast(writer.schema)
                        writer.write_batch(batch)
                        rows += batch.num_rows
        if writer is not None:
            writer.close()
    return {"rows": rows, "seconds": time.monotonic() - t0}


def phase_ours(
    workdir: Path,
    products: list[str],
    *,
    last_quarters: int = 0,
    parallel: bool = False,
    baseline: bool = False,
) -> dict[str, float]:
    from concurrent.futures import ThreadPoolExecutor

    from weatherinsight.dwd.products import get_product
    from weatherinsight.quarters import Quarter
    from weatherinsight.settings import load_settings
    from weatherinsight.staging import budget, service, stage_product
    from weatherinsight.storage.staged import MAX_BUFFERED_ROWS

    if baseline:  # the code before the parse window and the shared budget, for the same-run comparison
        service.parse_window = lambda quarters, now: None

        class Unshared(budget.RowBudget):
            """Every run buffers up to the whole budget, however many run at once (no sharing)."""

            def cap(self) -> int:
                return self.total

        service.BUFFERED_ROWS = Unshared(MAX_BUFFERED_ROWS)  # the name staging reads at call time
    quarters: list[Quarter] | None = None
    if last_quarters:
        quarters = [Quarter.of(TODAY)]
        while len(quarters) < last_quarters:
            quarters.append(quarters[-1].previous())
    data = workdir / ("data-baseline" if baseline else "data")
    shutil.rmtree(data, ignore_errors=True)
    settings = load_settings(
        data_dir=data, database_url=f"sqlite:///{data / 'wi.db'}", raw_store_url=str(workdir / "raw")
    )

    def stage(name: str) -> tuple[int, int]:
        result = stage_product(settings, get_product(name), quarters=quarters)
        return result.rows_written, len(result.quarantined)

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=3 if parallel else 1) as pool:
        done = list(pool.map(stage, products))
    rows, quarantined = sum(r for r, _ in done), sum(q for _, q in done)
    seconds = time.monotonic() - t0
    t1 = time.monotonic()
    noop = [stage_product(settings, get_product(name), quarters=quarters).status for name in products]
    return {
        "rows_written": rows,
        "quarantined": quarantined,
        "seconds": seconds,
        "rerun_seconds": time.monotonic() - t1,
        "rerun_all_unchanged": float(all(s == "unchanged" for s in noop)),
    }


def run_child(phase: str, args: argparse.Namespace) -> tuple[dict[str, float], float]:
    """Run one phase in a child process; returns its JSON result and its peak RSS in MB."""
    cmd = [
        sys.executable,
        __file__,
        "--phase",
        phase,
        "--workdir",
        str(args.workdir),
        "--products",
        *args.products,
        "--last-quarters",
        str(args.last_quarters),
        *(["--parallel"] if args.parallel else []),
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, env={**os.environ, "WEATHERINSIGHT_LOG_LEVEL": "WARNING"}
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"phase {phase} failed with exit code {proc.returncode}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    return result, usage.ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    from weatherinsight.dwd.products import PRODUCTS

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stations", type=int, default=200)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--products", nargs="+", default=list(PRODUCTS))
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/wi-bench-stage"))
    ap.add_argument("--last-quarters", type=int, default=0, help="stage only the last N quarters (0: all)")
    ap.add_argument("--parallel", action="store_true", help="stage the products 3 at a time, in threads")
    ap.add_argument("--phase", choices=["limit", "ours", "baseline"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase == "limit":
        print(json.dumps(phase_limit(args.workdir, args.products)))
        return
    if args.phase:
        kw = {"last_quarters": args.last_quarters, "parallel": args.parallel}
        print(json.dumps(phase_ours(args.workdir, args.products, baseline=args.phase == "baseline", **kw)))
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    mirror = ensure_mirror(args.workdir, args.stations, args.years, args.products)
    link_raw_store(args.workdir, mirror, args.products)
    limit, limit_rss = run_child("limit", args)
    ours, ours_rss = run_child("ours", args)
    base, base_rss = run_child("baseline", args) if args.last_quarters else ({}, 0.0)
    rows = limit["rows"]
    limit_rate, ours_rate = rows / limit["seconds"], rows / ours["seconds"]
    report = {
        "stations": args.stations,
        "years": args.years,
        "products": len(args.products),
        "input_rows": int(rows),
        "staged_rows": int(ours["rows_written"]),
        "limit_seconds": round(limit["seconds"], 1),
        "limit_rows_per_s": round(limit_rate),
        "limit_peak_rss_mb": round(limit_rss),
        "ours_seconds": round(ours["seconds"], 1),
        "ours_rows_per_s": round(ours_rate),
        "ours_peak_rss_mb": round(ours_rss),
        "ours_share_of_limit": round(ours_rate / limit_rate, 3),
        "rerun_noop_seconds": round(ours["rerun_seconds"], 1),
        "rerun_all_unchanged": bool(ours["rerun_all_unchanged"]),
        "quarantined": int(ours["quarantined"]),
        "last_quarters": args.last_quarters,
        "parallel": args.parallel,
        "baseline_seconds": round(base["seconds"], 1) if base else None,
        "baseline_peak_rss_mb": round(base_rss) if base else None,
        "baseline_rows_written": int(base["rows_written"]) if base else None,
        "speedup_vs_baseline": round(base["seconds"] / ours["seconds"], 2) if base else None,
        "cpu_count": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    for k, v in report.items():
        print(f"{k:>22}: {v}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
