"""Climate normals from planted published monthly values: exact means, the 24-of-30 rule, versioning."""

from __future__ import annotations

import json
from pathlib import Path
from statistics import fmean

import pytest
from sqlalchemy import select

from tests.fixtures.core import make_settings
from tests.normals.planting import plant_periods
from weatherinsight.errors import WeatherInsightError
from weatherinsight.normals import NormalsError, compute_normals, numeric_features, parse_base, required_years
from weatherinsight.periods import Period
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage
from weatherinsight.warehouse.tables import climate_normals

P = "precipitation"
BASE = (1991, 2020)
# January and July of 1990..2021: the years outside 1991..2020 must not count.
PERIODS = [Period("month", y, m) for y in range(1990, 2022) for m in (1, 7)]


def _value(station: int, p: Period, feature: str) -> float | int | None:
    if feature == "precip_total":
        if station == 1001 and p.number == 1 and p.year <= 1997:
            return None  # 7 NULL Januaries in the base → 23 valid years → no normal
        if station == 1001 and p.number == 7 and p.year <= 1996:
            return None  # 6 NULL Julys → 24 valid years → a normal
        return 10.0 * p.number + 0.5 * (p.year - 1990) + (station - 1000)
    if feature == "wet_days":
        return p.number + p.year % 3
    return 2


def _present(station: int, p: Period) -> bool:
    return not (station == 1002 and p.number == 1 and p.year <= 1997)  # no row at all: 23 years


def _normals(settings: Settings, version: str) -> dict[tuple[int, int, str], tuple[float | None, int]]:
    c = climate_normals.c
    with db.get_engine(settings.database_url).connect() as conn:
        rows = conn.execute(select(climate_normals).where(c.dataset_version == version)).all()
    return {(r.station_id, r.period_number, r.feature): (r.normal, r.years) for r in rows}


@pytest.fixture
def planted(db_settings: Settings) -> Settings:
    plant_periods(db_settings, P, PERIODS, (1000, 1001, 1002), _value, _present)
    return db_settings


def test_rule_needs_80_percent_of_the_base_years() -> None:
    assert required_years((1991, 2020)) == 24
    assert required_years((2019, 2020)) == 2
    assert required_years((2011, 2020)) == 8
    assert required_years((2020, 2020)) == 1


def test_normals_equal_an_independent_mean_and_follow_the_rule(planted: Settings) -> None:
    result = compute_normals(planted, P, period_kind="month", base=BASE)
    assert result.dataset_version == "1991-2020_month_normals_v1"
    assert result.unchanged is False
    features = numeric_features(P)
    assert result.rows == 3 * 2 * len(features)
    got = _normals(planted, result.dataset_version)
    years = range(1991, 2021)
    for month in (1, 7):
        want = fmean(10.0 * month + 0.5 * (y - 1990) for y in years)
        assert got[(1000, month, "precip_total")] == (pytest.approx(want), 30)
        assert got[(1000, month, "wet_days")] == (pytest.approx(fmean(month + y % 3 for y in years)), 30)
    # 1001: January has 23 valid years → NULL; July has 24 → the mean of those 24
    assert got[(1001, 1, "precip_total")] == (None, 23)
    july = fmean(70.0 + 0.5 * (y - 1990) + 1 for y in range(1997, 2021))
    assert got[(1001, 7, "precip_total")] == (pytest.approx(july), 24)
    assert got[(1001, 1, "wet_days")][1] == 30
    # 1002 has no January rows before 1998: 23 years, every feature NULL
    assert {f: got[(1002, 1, f)] for f in ("precip_total", "wet_days")} == {
        "precip_total": (None, 23),
        "wet_days": (None, 23),
    }
    assert result.normals == result.rows - len(features) - 1  # 1002's January features, 1001's January total


def test_normals_are_versioned_with_the_curated_parents(planted: Settings) -> None:
    first = compute_normals(planted, P, period_kind="month", base=BASE)
    again = compute_normals(planted, P, period_kind="month", base=BASE)
    assert again.unchanged is True
    assert again.dataset_version == first.dataset_version
    forced = compute_normals(planted, P, period_kind="month", base=BASE, force=True)
    assert forced.dataset_version == "1991-2020_month_normals_v2"
    with db.get_engine(planted.database_url).connect() as conn:
        versions = lineage.list_versions(conn, kind="normal", product=P)
    assert [(v.version_name, v.status, v.period_kind, v.year) for v in versions] == [
        ("1991-2020_month_normals_v1", "SUPERSEDED", "month", 2020),
        ("1991-2020_month_normals_v2", "AVAILABLE", "month", 2020),
    ]
    assert len(versions[1].parent_versions) == 60  # January and July of 1991..2020
    assert versions[1].parent_versions[0] == "1991-01_v1"


def test_a_short_base_and_bad_input(planted: Settings) -> None:
    result = compute_normals(planted, P, period_kind="month", base=(2019, 2020))
    got = _normals(planted, result.dataset_version)
    assert got[(1001, 1, "precip_total")] == (pytest.approx(fmean([10.0 + 14.5 + 1, 10.0 + 15.0 + 1])), 2)
    with pytest.raises(NormalsError, match=r"no published season values of precipitation in 1991\.\.2020"):
        compute_normals(planted, P, period_kind="season", base=BASE)
    with pytest.raises(WeatherInsightError, match=r"invalid --base '2020..1991'"):
        parse_base("2020..1991")
    assert parse_base(" 1991..2020 ") == (1991, 2020)


def test_a_normals_version_emits_lineage_from_its_curated_parents(data_dir: Path) -> None:
    s = make_settings(data_dir, lineage={"enabled": True, "transport": "file"})
    plant_periods(s, P, [Period("month", y, 1) for y in (2019, 2020)], (1000,), _value)
    result = compute_normals(s, P, period_kind="month", base=(2019, 2020))
    events = [json.loads(line) for line in s.lineage_file.read_text(encoding="utf-8").splitlines()]
    normal = [e for e in events if e["job"]["name"] == f"normals.{P}"]
    assert [e["eventType"] for e in normal] == ["START", "COMPLETE"]
    assert normal[1]["outputs"][0]["name"] == f"normal/{P}/{result.dataset_version}"
    assert [i["name"] for i in normal[1]["inputs"]] == [f"curated/{P}/2019-01_v1", f"curated/{P}/2020-01_v1"]
