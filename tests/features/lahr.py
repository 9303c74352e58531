"""DWD's real Lahr files (02812, tests/data/dwd/lahr_02812_daily_and_hourly/, DWD attribution in
tests/data/dwd/PROVENANCE.md) as staged tables, for the fidelity and parity tests of the day-based indices."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa

from weatherinsight.dwd.daily import parse_daily_produkt
from weatherinsight.dwd.products import get_product
from weatherinsight.dwd.produkt import parse_produkt
from weatherinsight.quarters import Quarter

LAHR = Path(__file__).resolve().parents[1] / "data" / "dwd" / "lahr_02812_daily_and_hourly"
KL = "produkt_klima_tag_19500101_20181231_02812.txt"
TU = "produkt_tu_stunde_20180209_20190812_02812.txt"
RR = "produkt_rr_stunde_20180209_20190812_02812.txt"
FIRST, LAST = date(2018, 4, 1), date(2018, 12, 31)
QUARTERS = (Quarter(2018, 2), Quarter(2018, 3), Quarter(2018, 4))
#: The first ten days of each quarter lose their KL values in the "mixed" case.
MIXED_GAP = 10


def staged(product: str, name: str) -> pa.Table:
    t = parse_produkt((LAHR / name).read_bytes(), get_product(product), file_name=name)
    return t.append_column("source_period", pa.array(["recent"] * len(t))).append_column(
        "source_file", pa.array([name] * len(t))
    )


def staged_kl(drop: frozenset[date] = frozenset()) -> pa.Table:
    t = parse_daily_produkt((LAHR / KL).read_bytes(), file_name=KL)
    if drop:
        keep = [d not in drop for d in t.column("date").to_pylist()]
        t = t.filter(pa.array(keep))
    return t.append_column("source_period", pa.array(["historical"] * len(t))).append_column(
        "source_file", pa.array([KL] * len(t))
    )


def quarter_days(q: Quarter) -> list[date]:
    n = (q.end.date() - q.start.date()).days
    return [q.start.date() + timedelta(days=i) for i in range(n)]
