"""Lahr (02812), real DWD files: our hourly parser and feature rules against DWD's own daily KL values.

The daily KL file is read here with a plain CSV reader (an independent reference, not our code). Checked on
2018-04-01 .. 2018-12-31 (275 days, every daily value present), as tests/data/dwd/PROVENANCE.md records:
TMK is the mean of the 24 hourly TT_TU stamped 00..23 UTC; RSK is the sum of hourly R1 stamped 07:00 of day D
through 06:00 of D+1 (DWD's 06–06 UTC precipitation day); TXK/TNK bound the hourly extremes. Our tg_mean and
precip_total are then compared with TMK and RSK per quarter.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from weatherinsight.dwd.products import get_product
from weatherinsight.dwd.produkt import parse_produkt
from weatherinsight.engines import duckdb as duck
from weatherinsight.features.common import Rules
from weatherinsight.quarters import Quarter
from weatherinsight.settings import FeatureRules

LAHR = Path(__file__).resolve().parents[1] / "data" / "dwd" / "lahr_02812_daily_and_hourly"
KL = "produkt_klima_tag_19500101_20181231_02812.txt"
TU = "produkt_tu_stunde_20180209_20190812_02812.txt"
RR = "produkt_rr_stunde_20180209_20190812_02812.txt"
FIRST, LAST = date(2018, 4, 1), date(2018, 12, 31)
QUARTERS = (Quarter(2018, 2), Quarter(2018, 3), Quarter(2018, 4))


def _daily_kl() -> dict[date, dict[str, float]]:
    text = (LAHR / KL).read_text(encoding="ascii")
    rows = csv.reader(io.StringIO(text), delimiter=";")
    header = [h.strip() for h in next(rows)]
    out: dict[date, dict[str, float]] = {}
    for row in rows:
        rec = dict(zip(header, (v.strip() for v in row), strict=True))
        day = datetime.strptime(rec["MESS_DATUM"], "%Y%m%d").date()
        if FIRST <= day <= LAST:
            out[day] = {k: float(rec[k]) for k in ("TMK", "TXK", "TNK", "RSK")}
    return out


def _hourly(product: str, name: str, column: str) -> dict[datetime, float]:
    table = parse_produkt((LAHR / name).read_bytes(), get_product(product), file_name=name)
    return {
        ts: v
        for ts, v in zip(table.column("ts").to_pylist(), table.column(column).to_pylist(), strict=True)
        if v is not None
    }


@pytest.fixture(scope="module")
def kl() -> dict[date, dict[str, float]]:
    return _daily_kl()


@pytest.fixture(scope="module")
def tt() -> dict[datetime, float]:
    return _hourly("air_temperature", TU, "temperature")


@pytest.fixture(scope="module")
def r1() -> dict[datetime, float]:
    return _hourly("precipitation", RR, "precipitation_height")


def _hours(start: datetime, n: int) -> list[datetime]:
    return [start + timedelta(hours=i) for i in range(n)]


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def test_dwd_daily_values_are_what_the_hourly_files_say(
    kl: dict[date, dict[str, float]], tt: dict[datetime, float], r1: dict[datetime, float]
) -> None:
    assert len(kl) == 275 and all(v != -999 for day in kl.values() for v in day.values())
    above_tnk = 0
    for day, v in kl.items():
        temps = [tt[h] for h in _hours(_midnight(day), 24)]
        assert abs(sum(temps) / 24 - v["TMK"]) <= 0.05 + 1e-9, day  # DWD rounds TMK to 0.1
        assert max(temps) <= v["TXK"], day  # TXK is the extreme of the continuous record
        above_tnk += min(temps) >= v["TNK"]
        rain = sum(r1[h] for h in _hours(_midnight(day) + timedelta(hours=7), 24))
        assert rain == pytest.approx(v["RSK"], abs=1e-6), day  # 07:00 D .. 06:00 D+1 UTC
    assert above_tnk == 274


def _staged(product: str, name: str) -> pa.Table:
    t = parse_produkt((LAHR / name).read_bytes(), get_product(product), file_name=name)
    return t.append_column("source_period", pa.array(["recent"] * len(t))).append_column(
        "source_file", pa.array([name] * len(t))
    )


@pytest.mark.parametrize("q", QUARTERS, ids=str)
def test_tg_mean_and_precip_total_agree_with_tmk_and_rsk(
    q: Quarter, kl: dict[date, dict[str, float]], r1: dict[datetime, float]
) -> None:
    rules = Rules.from_config(q, FeatureRules())
    days = [d for d in kl if q.start.date() <= d < q.end.date()]
    assert len(days) == (q.end.date() - q.start.date()).days
    temp = duck.compute(_staged("air_temperature", TU), "air_temperature", rules).to_pylist()
    assert [r["station_id"] for r in temp] == [2812]
    tmk_mean = sum(kl[d]["TMK"] for d in days) / len(days)
    assert abs(temp[0]["tg_mean"] - tmk_mean) <= 0.05  # TMK's 0.1 rounding, averaged
    precip = duck.compute(_staged("precipitation", RR), "precipitation", rules).to_pylist()[0]
    # Our day is the UTC calendar day, DWD's the 06–06 UTC day: the quarter sums differ by exactly the rain
    # stamped 00:00..06:00 on the quarter's first day minus that on the next quarter's first day.
    by_month_start: dict[str, float] = defaultdict(float)
    for label, start in (("first", _midnight(q.start.date())), ("next", _midnight(q.end.date()))):
        by_month_start[label] = sum(r1.get(h, 0.0) for h in _hours(start, 7))
    rsk_sum = sum(kl[d]["RSK"] for d in days)
    expected = rsk_sum + by_month_start["first"] - by_month_start["next"]
    assert precip["precip_total"] == pytest.approx(expected, abs=1e-6)
