"""Benchmark: staging the daily KL product (``staging.stage_daily``) — peak RSS and the no-op re-run (issue #19).

    uv run --frozen python benchmarks/daily_stage.py [--stations 100] [--years 10] [--last-quarters 20]
        [--workdir DIR]

1. Builds (or reuses) a DWD mirror of ``stations × years`` of ``daily_climate`` only with
   ``weatherinsight.mirror.simulate`` and points a raw store at it (``<workdir>/raw/dwd/daily_climate``).
2. **baseline**: the way ``stage_daily`` worked before the streaming change — every station's files parsed
   (``staging.daily._read``) and merged (``merge_station``) into one list, ALL stations' rows concatenated, then
   each of the last N quarters filtered, sorted and written with ``pq.write_table`` (no versions published).
3. **ours**: ``stage_daily(quarters=<the last N quarters>)`` into a fresh data dir (inventory and hashing,
   streaming per station, versions published, state saved).
4. **re-run**: the same call again with nothing changed (opens no zip).

Each phase runs in its own child process, so its peak RSS (``ru_maxrss`` from ``wait4``) is its own.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

TODAY = date(2026, 1, 15)
SEED = 7
PRODUCT = "daily_climate"


def ensure_mirror(workdir: Path, stations: int, years: int) -> Path:
    from weatherinsight.mirror.layout import MANIFEST, load_spec
    from weatherinsight.mirror.simulate import build_mirror

    mirror = workdir / "mirror"
    if (mirror / MANIFEST).exists():
        spec = load_spec(mirror)
        if (spec.stations, spec.years, spec.seed, set(spec.products)) == (stations, years, SEED, {PRODUCT}):
            return mirror
        shutil.rmtree(mirror)
    t0 = time.monotonic()
    summary = build_mirror(
        mirror, stations=stations, years=years, seed=SEED, today=TODAY, products=[PRODUCT], workers=2
    )
    print(f"mirror built: {summary.files} files in {time.monotonic() - t0:.0f} s", flush=True)
    return mirror


def link_raw_store(workdir: Path, mirror: Path) -> Path:
    from weatherinsight.dwd.products import DAILY_KL
    from weatherinsight.mirror.layout import product_dir

    raw = workdir / "raw"
    shutil.rmtree(raw, ignore_errors=True)
    (raw / "dwd").mkdir(parents=True)
    (raw / "dwd" / PRODUCT).symlink_to(
        product_dir(mirror, DAILY_KL, "recent").parent, target_is_directory=True
    )
    return raw


def quarters(n: int) -> list[str]:
    from weatherinsight.quarters import Quarter

    last = Quarter.of(TODAY).previous()
    out = [last]
    while len(out) < n:
        out.append(out[-1].previous())
    return [str(q) for q in sorted(out)]


def run_phase(phase: str, data_dir: Path, raw: Path, wanted: list[str]) -> dict[str, float]:
    """The phase's work in this (child) process; returns its figures."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from weatherinsight.dwd.products import DAILY_KL
    from weatherinsight.quarters import Quarter
    from weatherinsight.settings import Settings
    from weatherinsight.staging import daily
    from weatherinsight.staging.inventory import list_raw_inputs

    settings = Settings(data_dir=data_dir, raw_store_url=str(raw))
    qs = [Quarter.parse(q) for q in wanted]
    t0 = time.perf_counter()
    if phase == "baseline":
        inventory = list_raw_inputs(settings, DAILY_KL)
        by_station: dict[int, list[pa.Table]] = {}
        for item in inventory.inputs:
            t = daily._read(settings, DAILY_KL, item)
            by_station.setdefault(int(t.column("station_id")[0].as_py()), []).append(t)
        merged = pa.concat_tables([daily.merge_station(by_station[s]) for s in sorted(by_station)])
        keys = daily._quarter_of(merged.column("date"))
        rows = 0
        for q in qs:
            part = merged.filter(pa.array(keys == q.year * 10 + q.quarter)).sort_by(
                [("station_id", "ascending"), ("date", "ascending")]
            )
            out = data_dir / "baseline" / str(q)
            out.mkdir(parents=True, exist_ok=True)
            pq.write_table(part.cast(DAILY_KL.staged_schema), out / "part-00000.parquet")
            rows += part.num_rows
        files = sum(len(v) for v in by_station.values())
    else:
        result = daily.stage_daily(settings, DAILY_KL, quarters=qs)
        rows, files = sum(result.rows_by_quarter.values()), result.files_parsed
    return {"seconds": time.perf_counter() - t0, "rows": float(rows), "files": float(files)}


def child(phase: str, data_dir: Path, raw: Path, wanted: list[str]) -> dict[str, float]:
    """Run one phase in a fresh interpreter (its peak RSS is its own); its figures."""
    cmd = [sys.executable, __file__, "--phase", phase, "--data-dir", str(data_dir), "--raw", str(raw)]
    proc = subprocess.run(
        [*cmd, "--quarters", ",".join(wanted)], stdout=subprocess.PIPE, text=True, check=False
    )
    if proc.returncode:
        raise SystemExit(f"phase {phase} failed ({proc.returncode})")
    figures: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stations", type=int, default=100)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--last-quarters", type=int, default=20)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/wi-bench-daily-stage"))
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--raw", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--quarters", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        import logging
        import resource

        logging.disable(logging.CRITICAL)
        figures = run_phase(args.phase, args.data_dir, args.raw, args.quarters.split(","))
        figures["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(figures))
        return
    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    mirror = ensure_mirror(workdir, args.stations, args.years)
    raw = link_raw_store(workdir, mirror)
    wanted = quarters(args.last_quarters)
    base_dir, ours_dir = workdir / "data-baseline", workdir / "data-ours"
    for d in (base_dir, ours_dir):
        shutil.rmtree(d, ignore_errors=True)
    results = {
        "baseline": child("baseline", base_dir, raw, wanted),
        "ours": child("ours", ours_dir, raw, wanted),
        "re-run": child("re-run", ours_dir, raw, wanted),
    }
    print(
        f"{args.stations} stations × {args.years} years, {len(wanted)} quarters ({wanted[0]}..{wanted[-1]})"
    )
    for name, r in results.items():
        print(
            f"{name:>8}: {r['seconds']:.2f} s, {r['files']:.0f} files parsed, {r['rows']:.0f} rows written, "
            f"peak RSS {r['peak_rss_mib']:.0f} MiB"
        )
    b, o = results["baseline"], results["ours"]
    print(f"peak RSS ours / baseline: {o['peak_rss_mib'] / b['peak_rss_mib']:.2f}")


if __name__ == "__main__":
    main()
