"""The feature catalog per month, per winter (DJF across the year boundary) and per year, values by hand.

Inputs: ``tests/periods/cases.py``. The 80 % gates follow the period's length: January needs 25 valid days
(ceil(0.8 × 31)), DJF 2024 73 (ceil(0.8 × 91)), the year 2024 293 (ceil(0.8 × 366)).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.features.staged_rows import write_parquet
from tests.periods import cases
from weatherinsight.engines import duckdb as duck
from weatherinsight.features.common import Rules
from weatherinsight.periods import Period


@pytest.fixture(scope="module")
def staged_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_parquet(cases.staged(), tmp_path_factory.mktemp("periods") / "part-00000.parquet")


def compute(path: Path, label: str) -> dict[int, dict[str, Any]]:
    out = duck.compute([path], cases.PRODUCT, Rules(Period.parse(label)))
    return {r["station_id"]: r for r in out.to_pylist()}


def approx(v: float) -> Any:
    return pytest.approx(v, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    ("label", "hours", "days", "min_hours", "min_days"),
    [
        ("2024-01", 744, 31, 596, 25),  # ceil(595.2), ceil(24.8)
        ("2024-02", 696, 29, 557, 24),  # ceil(556.8), ceil(23.2)
        ("2024DJF", 2184, 91, 1748, 73),
        ("2024Q1", 2184, 91, 1748, 73),
        ("2024", 8784, 366, 7028, 293),  # ceil(7027.2), ceil(292.8)
        ("2023", 8760, 365, 7008, 292),
    ],
)
def test_gates_follow_the_period(label: str, hours: int, days: int, min_hours: int, min_days: int) -> None:
    r = Rules(Period.parse(label))
    assert (r.hours_expected, r.days_expected, r.min_hours, r.min_days) == (hours, days, min_hours, min_days)


def test_a_month(staged_file: Path) -> None:
    rows = compute(staged_file, "2024-01")
    assert sorted(rows) == [
        1,
        3,
        4,
        5,
        6,
    ]  # every station with a January row; December's and February's are out
    s1 = rows[1]
    assert (s1["hours_expected"], s1["hours_valid"], s1["days_valid"], s1["coverage"]) == (744, 744, 31, 1.0)
    assert (s1["tg_mean"], s1["tx_mean"], s1["tn_mean"], s1["txx"], s1["tnn"]) == (-10, -5, -15, -5, -15)
    assert (s1["frost_days"], s1["ice_days"], s1["summer_days"]) == (31, 31, 0)
    assert s1["heating_degree_days"] == approx(31 * 30.0)
    # 24 valid days: one short of January's gate → daily features NULL, coverage still reported
    s3 = rows[3]
    assert (s3["hours_valid"], s3["days_valid"], s3["tg_mean"], s3["frost_days"]) == (576, 24, None, None)
    # 25 valid days: exactly the gate (a quarter would need 73)
    s4 = rows[4]
    assert (s4["days_valid"], s4["tg_mean"], s4["frost_days"]) == (25, 12.5, 0)
    assert s4["heating_degree_days"] == approx(25 * 7.5)
    assert s4["coverage"] == approx(600 / 744)


def test_djf_spans_the_year_boundary(staged_file: Path) -> None:
    rows = compute(staged_file, "2024DJF")
    s1 = rows[1]
    # December 2023 (base −2) + January 2024 (−10) + February 2024 (6): 91 valid days
    assert (s1["hours_expected"], s1["hours_valid"], s1["days_valid"]) == (2184, 2184, 91)
    assert s1["tg_mean"] == approx((31 * -2 + 31 * -10 + 29 * 6) / 91)
    assert (s1["txx"], s1["tnn"]) == (11, -15)
    assert (s1["frost_days"], s1["ice_days"]) == (62, 31)  # February's TN is 1 °C
    assert s1["heating_degree_days"] == approx(31 * 22 + 31 * 30 + 29 * 14)
    # station 4's 25 January days pass January's gate but not the winter's 73
    assert (rows[4]["days_valid"], rows[4]["tg_mean"]) == (25, None)
    # the previous winter has none of these rows
    assert compute(staged_file, "2023DJF") == {}


def test_a_year(staged_file: Path) -> None:
    rows = compute(staged_file, "2024")
    assert (rows[5]["hours_expected"], rows[5]["days_valid"], rows[5]["tg_mean"]) == (8784, 293, 1.0)
    assert rows[5]["heating_degree_days"] == approx(293 * 19.0)
    assert (rows[6]["days_valid"], rows[6]["tg_mean"], rows[6]["heating_degree_days"]) == (292, None, None)
    # station 1's December 2023 is not part of 2024: January + February only, far below the gate
    assert (rows[1]["days_valid"], rows[1]["hours_valid"], rows[1]["tg_mean"]) == (60, 1440, None)
