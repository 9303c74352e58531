"""Benchmark: parsing DWD daily KL produkt files (climate/daily/kl) — our columnar parser against a line loop.

Input: the real Lahr file ``tests/data/dwd/lahr_02812_daily_and_hourly/produkt_klima_tag_19500101_20181231_02812.txt``
(24,745 days, 1950–2018; DWD attribution in that directory's PROVENANCE). Each contender runs ``--repeat`` times
in this process after one warm-up; the median is reported.

* ``ours``     — ``weatherinsight.dwd.daily.parse_daily_produkt`` (pyarrow.csv + numpy checks of whole columns)
* ``baseline`` — the row-by-row loop that parser replaced: every line split and every field validated and
  converted in Python (``weatherinsight.dwd.daily._scan``, which the parser now runs only to name a bad line)
* ``limit``    — ``pyarrow.csv.read_csv`` with explicit float types, no checks at all

Run: ``uv run --frozen python benchmarks/daily_parse.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from weatherinsight.dwd.daily import _scan, parse_daily_produkt
from weatherinsight.dwd.products import DAILY_KL

KL = (
    Path(__file__).resolve().parents[1]
    / "tests/data/dwd/lahr_02812_daily_and_hourly/produkt_klima_tag_19500101_20181231_02812.txt"
)


def _limit(data: bytes) -> None:
    names = [f"c{i}" for i in range(len(DAILY_KL.header))]
    types = {n: pa.float64() for n in names[:-1]}
    pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
        parse_options=pacsv.ParseOptions(delimiter=";", quote_char=False),
        convert_options=pacsv.ConvertOptions(column_types=types),
    )


def _time(fn: Callable[[], object], repeat: int) -> float:
    fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    data = KL.read_bytes()
    rows = parse_daily_produkt(data, file_name=KL.name).num_rows
    results = {
        "limit": _time(lambda: _limit(data), args.repeat),
        "ours": _time(lambda: parse_daily_produkt(data, file_name=KL.name), args.repeat),
        "baseline": _time(lambda: _scan(data.decode("latin-1").splitlines(), DAILY_KL, KL.name), args.repeat),
    }
    for name, seconds in results.items():
        print(f"{name:9s} {seconds * 1000:8.1f} ms  {rows / seconds / 1e6:6.2f} M rows/s")
    print(f"ours / baseline speed-up: {results['baseline'] / results['ours']:.1f}×")


if __name__ == "__main__":
    main()
