"""Lahr (02812), real DWD sun file: the sunshine features against values computed here independently.

The expected numbers come from a plain CSV read of the excerpt (not our parser) and this module's own
FAO-56 day-length arithmetic; the latitude is Lahr's from DWD's real TU station list (48.3647 °N). For 2018Q3
the daily sums are also DWD's own daily KL sunshine SDK, so the rule "a day's sunshine = Σ SD_SO / 60" is
DWD's. 2019Q2 holds both file layouts: 18 hours a day (03..20 UTC) until May, 24 from June.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from weatherinsight.dwd.products import get_product
from weatherinsight.dwd.produkt import parse_produkt
from weatherinsight.engines import duckdb as duck
from weatherinsight.features.common import Rules
from weatherinsight.features.sun import possible_sunshine_hours
from weatherinsight.quarters import Quarter

DATA = Path(__file__).resolve().parents[1] / "data" / "dwd"
LAHR = DATA / "lahr_02812_daily_and_hourly"
SD = "produkt_sd_stunde_20180209_20190812_02812_excerpt.txt"
KL = "produkt_klima_tag_19500101_20181231_02812.txt"


def _lahr_latitude() -> float:
    text = (
        (DATA / "air_temperature" / "TU_Stundenwerte_Beschreibung_Stationen.txt")
        .read_bytes()
        .decode("latin-1")
    )
    line = next(x for x in text.splitlines() if x.startswith("02812 "))
    return float(line.split()[4])


LAT = _lahr_latitude()


def _daily_minutes() -> dict[date, list[float]]:
    rows = csv.reader(io.StringIO((LAHR / SD).read_text(encoding="ascii")), delimiter=";")
    header = [h.strip() for h in next(rows)]
    out: dict[date, list[float]] = defaultdict(list)
    for row in rows:
        rec = dict(zip(header, (v.strip() for v in row), strict=True))
        if rec["SD_SO"] != "-999":
            out[datetime.strptime(rec["MESS_DATUM"], "%Y%m%d%H").date()].append(float(rec["SD_SO"]))
    return out


def _day_length(day: date) -> float:
    """FAO-56 eq. 24/25/34, written out again (not the module under test)."""
    j = (day - date(day.year, 1, 1)).days + 1
    decl = 0.409 * math.sin(2 * math.pi / 365 * j - 1.39)
    ws = math.acos(max(-1.0, min(1.0, -math.tan(LAT * math.pi / 180) * math.tan(decl))))
    return 24 / math.pi * ws


def _expected(q: Quarter) -> dict[str, float | int]:
    days = {d: m for d, m in _daily_minutes().items() if q.start.date() <= d < q.end.date()}
    valid = {d: sum(m) / 60 for d, m in days.items() if len(m) >= 15}  # 20 of 24 → 15 of 18 hours
    total = sum(valid.values())
    possible = sum(_day_length(d) for d in valid)
    return {
        "days_valid": len(valid),
        "sunshine_hours": total,
        "possible_sunshine_hours": possible,
        "sunshine_share": total / possible,
        "sunshine_day_max": max(valid.values()),
        "sunny_days": sum(v >= 8 for v in valid.values()),
        "dull_days": sum(v < 1 for v in valid.values()),
    }


@pytest.fixture(scope="module")
def staged() -> pa.Table:
    table = parse_produkt((LAHR / SD).read_bytes(), get_product("sun"), file_name=SD)
    n = table.num_rows
    table = table.append_column("source_period", pa.array(["recent"] * n))
    return table.append_column("source_file", pa.array([SD] * n))


def _computed(staged: pa.Table, q: Quarter, latitudes: tuple[tuple[int, float], ...]) -> dict[str, object]:
    rows = duck.compute(staged, "sun", Rules(q, latitudes=latitudes)).to_pylist()
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize("q", [Quarter(2018, 3), Quarter(2019, 2)], ids=str)
def test_sun_features_equal_the_independent_computation(staged: pa.Table, q: Quarter) -> None:
    got = _computed(staged, q, ((2812, LAT),))
    want = _expected(q)
    for name in ("days_valid", "sunny_days", "dull_days"):
        assert got[name] == want[name], name
    for name in ("sunshine_hours", "possible_sunshine_hours", "sunshine_share", "sunshine_day_max"):
        assert got[name] == pytest.approx(want[name], abs=1e-6), name


def test_lahr_2018q3_exact_values(staged: pa.Table) -> None:
    got = _computed(staged, Quarter(2018, 3), ((2812, LAT),))
    assert got["station_id"] == 2812
    assert (got["hours_expected"], got["hours_valid"], got["days_valid"]) == (2208, 1656, 92)
    assert got["coverage"] == 0.75  # DWD wrote 18 of 24 hours a day in 2018; the night is not missing
    assert round(got["sunshine_hours"], 3) == 846.5
    assert (got["sunny_days"], got["dull_days"]) == (60, 5)
    assert round(got["sunshine_day_max"], 3) == 14.833


def test_lahr_2018q3_daily_sums_are_dwds_daily_sdk() -> None:
    rows = csv.reader(io.StringIO((LAHR / KL).read_text(encoding="ascii")), delimiter=";")
    header = [h.strip() for h in next(rows)]
    sdk: dict[date, float] = {}
    for row in rows:
        rec = dict(zip(header, (v.strip() for v in row), strict=True))
        day = datetime.strptime(rec["MESS_DATUM"], "%Y%m%d").date()
        if date(2018, 7, 1) <= day <= date(2018, 9, 30):
            sdk[day] = float(rec["SDK"])
    ours = {d: sum(m) / 60 for d, m in _daily_minutes().items() if d in sdk}
    assert len(ours) == len(sdk) == 92
    assert all(abs(ours[d] - sdk[d]) < 0.001 for d in sdk)


def test_without_a_latitude_the_astronomical_values_are_null(staged: pa.Table) -> None:
    got = _computed(staged, Quarter(2018, 3), ())
    assert got["possible_sunshine_hours"] is None
    assert got["sunshine_share"] is None
    assert round(got["sunshine_hours"], 3) == 846.5


def test_possible_sunshine_formula_values() -> None:
    # Day length at 48.3647 °N (no refraction): about 15.9 h at the June solstice, 8.1 h at the December one.
    assert round(possible_sunshine_hours(LAT, date(2018, 6, 21)), 2) == round(
        _day_length(date(2018, 6, 21)), 2
    )
    assert 15.8 < possible_sunshine_hours(LAT, date(2018, 6, 21)) < 16.0
    assert 8.0 < possible_sunshine_hours(LAT, date(2018, 12, 21)) < 8.2
    assert possible_sunshine_hours(0.0, date(2018, 3, 20)) == pytest.approx(12.0, abs=0.05)
