"""Periods benchmark (issue #18): one year of months for N stations (default 500) × all products on DuckDB,
against the quarter benchmark in the same run.

Generates the four staged quarters of 2024 with ``benchmarks/aggregate.py``'s generator (realistic ranges, ~5 %
NULL hours, whole NULL days, one station in 20 below the gates; one Parquet file per product and quarter, as
staging writes them), then times ``weatherinsight.engines.duckdb.compute`` (best of ``--repeat``) for:

* **quarter** — 2024Q1 × all products: the aggregate benchmark's DuckDB figure (the baseline);
* **quarters** — the four quarters of 2024 × all products (what the quarterly runs of that year compute);
* **months** — the twelve months of 2024 × all products, each from its quarter's file (ours);
* **seasons** and **year** — 2024DJF (from 2023Q4 + 2024Q1 files), MAM, JJA, SON and the year 2024 (four files).

    uv run --frozen python benchmarks/periods.py                 # 500 stations
    uv run --frozen python benchmarks/periods.py --stations 100 --repeat 1
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pyarrow.parquet as pq

from aggregate import generate  # benchmarks/aggregate.py: the same synthetic staged data
from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.engines import duckdb as duck
from weatherinsight.features.common import Rules
from weatherinsight.periods import Period
from weatherinsight.quarters import Quarter

QUARTERS = [Quarter(2023, 4), *(Quarter(2024, i) for i in range(1, 5))]


def timed(files: dict[tuple[str, Quarter], Path], periods: Sequence[Period | Quarter], repeat: int) -> float:
    """Best-of-``repeat`` seconds to compute every product for every period (each from its quarters' files)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for period in periods:
            quarters = [period] if isinstance(period, Quarter) else period.quarters
            for product in PRODUCTS:
                out = duck.compute([files[(product, q)] for q in quarters], product, Rules(period))
                assert out.num_rows > 0
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stations", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=2, help="best of N runs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files: dict[tuple[str, Quarter], Path] = {}
        t0 = time.perf_counter()
        rows = 0
        for i, product in enumerate(PRODUCTS):
            for q in QUARTERS:
                table = generate(product, args.stations, seed=100 * i + q.quarter, quarter=q)
                rows += table.num_rows if q.year == 2024 else 0
                files[(product, q)] = Path(tmp) / f"{product}_{q}.parquet"
                pq.write_table(table, files[(product, q)])
        print(
            f"generated {rows:,} staged rows of 2024 ({args.stations} stations × {len(PRODUCTS)} products) in "
            f"{time.perf_counter() - t0:.1f} s (plus 2023Q4 for DJF)"
        )
        import ibis  # one-off backend import, excluded like in benchmarks/aggregate.py

        ibis.duckdb.connect().disconnect()
        year = [Period("month", 2024, m) for m in range(1, 13)]
        seasons = [Period("season", 2024, s) for s in range(1, 5)]
        quarter = timed(files, [Quarter(2024, 1)], args.repeat)
        quarters = timed(files, QUARTERS[1:], args.repeat)
        months = timed(files, list(year), args.repeat)
        season = timed(files, list(seasons), args.repeat)
        whole = timed(files, [Period("year", 2024)], args.repeat)
        print(f"quarter  (2024Q1, baseline)      {quarter:7.2f} s")
        print(f"quarters (2024Q1..Q4)            {quarters:7.2f} s  ({quarters / quarter:.1f}× the quarter)")
        print(
            f"months   (2024-01..12, ours)     {months:7.2f} s  ({months / quarter:.1f}× the quarter, "
            f"{months / quarters:.2f}× the year's quarters)"
        )
        print(f"seasons  (2024DJF..SON)          {season:7.2f} s  ({season / quarter:.1f}× the quarter)")
        print(f"year     (2024)                  {whole:7.2f} s  ({whole / quarter:.1f}× the quarter)")


if __name__ == "__main__":
    main()
