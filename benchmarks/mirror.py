"""Benchmark: mirror generation speed (rows/s), vectorised simulator vs a plain per-row f-string writer.

* ``simulator`` — ``weatherinsight.mirror.simulate.build_mirror`` for N stations × Y years × 5 products
  with 1 and with 2 worker processes; rows/s by wall clock and per CPU second (parent + children);
* ``baseline`` — the same produkt rows of one product written the obvious way (one f-string per row, the
  same zip/deflate level), on rows taken from the simulator's own climate, in the same run.

Run: ``uv run --frozen python benchmarks/mirror.py [--stations 20] [--years 10]``
"""

from __future__ import annotations

import argparse
import io
import resource
import tempfile
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from weatherinsight.mirror.climate import station_climate
from weatherinsight.mirror.simulate import build_mirror


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _simulator(stations: int, years: int, workers: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="wi-mirror-bench-") as tmp:
        cpu, wall = _cpu(), time.perf_counter()
        summary = build_mirror(Path(tmp), stations=stations, years=years, seed=3, workers=workers)
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    return {
        "rows": summary.rows,
        "seconds": wall,
        "rows_per_s": summary.rows / wall,
        "rows_per_cpu_s": summary.rows / cpu,
    }


def _baseline(years: int) -> dict[str, float]:
    days = 365 * years
    clim = station_climate(
        seed=3, station_id=44, lat=52.9, lon=8.2, height=44, first_day=date(2015, 1, 1), n_days=days
    )
    temp, rh = clim["temperature"], np.round(clim["relative_humidity"])
    start = date(2015, 1, 1)
    cpu, wall = _cpu(), time.perf_counter()
    lines = ["STATIONS_ID;MESS_DATUM;QN_9;TT_TU;RF_TU;eor"]
    for i in range(days * 24):
        d = start + timedelta(hours=i)
        lines.append(f"{44:>11};{d:%Y%m%d}{i % 24:02d};{3:>5};{temp[i]:>6.1f};{rh[i]:>6.1f};eor")
    text = ("\r\n".join(lines) + "\r\n").encode("ascii")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("produkt_tu_stunde_x.txt", text)
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    rows = days * 24
    return {"rows": rows, "seconds": wall, "rows_per_s": rows / wall, "rows_per_cpu_s": rows / cpu}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stations", type=int, default=20)
    parser.add_argument("--years", type=int, default=10)
    args = parser.parse_args()
    rows = {
        "baseline f-string (1 product)": _baseline(args.years),
        "simulator, 1 process": _simulator(args.stations, args.years, 1),
        "simulator, 2 processes": _simulator(args.stations, args.years, 2),
    }
    print(f"{'contender':<32}{'rows':>12}{'seconds':>9}{'rows/s':>12}{'rows/CPU-s':>12}")
    for name, r in rows.items():
        print(
            f"{name:<32}{r['rows']:>12,.0f}{r['seconds']:>9.1f}{r['rows_per_s']:>12,.0f}{r['rows_per_cpu_s']:>12,.0f}"
        )


if __name__ == "__main__":
    main()
