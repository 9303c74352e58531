"""Every feature of every product on hand-built hourly data, against values computed by hand (docs/design.md §5).

The inputs are in ``cases.py`` (their docstrings list the edge cases); the arithmetic is written out here.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.features import cases
from tests.features.staged_rows import Q
from weatherinsight.engines import duckdb as duck
from weatherinsight.features.catalog import features_for
from weatherinsight.features.common import Rules

RULES = Rules(Q)
H = 2184


def compute(product: str) -> dict[int, dict[str, Any]]:
    out = duck.compute(cases.CASES[product](), product, RULES)
    return {r["station_id"]: r for r in out.to_pylist()}


def approx(v: float) -> Any:
    return pytest.approx(v, rel=1e-12, abs=1e-12)


def assert_all_null(row: dict[str, Any], product: str) -> None:
    assert {f.name: row[f.name] for f in features_for(product)} == {
        f.name: None for f in features_for(product)
    }


def test_gates_resolve_to_counts() -> None:
    assert (RULES.hours_expected, RULES.days_expected) == (2184, 91)
    assert (RULES.min_hours, RULES.min_days) == (1748, 73)  # ceil(1747.2), ceil(72.8)


def test_temperature() -> None:
    rows = compute("air_temperature")
    s1 = rows[1]
    # day 90 (19 valid hours, base 100) is invalid; day 89 (20 valid hours) counts; the pre-quarter row is out
    assert (s1["hours_expected"], s1["hours_valid"], s1["days_valid"]) == (H, 2175, 90)
    assert s1["coverage"] == approx(2175 / H)
    assert (s1["qn_min"], s1["qn_max"]) == (1, 10)  # qn 10 sits on NULL-value rows: they count
    assert s1["share_recent"] == approx(48 / H)
    # Σ TG = 10·(−10) + 10·0 + 10·22 + 10·26 + 50·10 = 880 over 90 valid days
    assert s1["tg_mean"] == approx(880 / 90)
    assert s1["tx_mean"] == approx(1330 / 90)
    assert s1["tn_mean"] == approx(430 / 90)
    assert (s1["txx"], s1["tnn"], s1["dtr_mean"]) == (31.0, -15.0, approx(10.0))
    assert (s1["frost_days"], s1["ice_days"], s1["summer_days"], s1["hot_days"], s1["tropical_nights"]) == (
        20,
        10,
        20,
        10,
        10,
    )
    # HDD: 10·30 + 10·20 + 50·10; CDD: 10·4 + 10·8; GDD: 10·17 + 10·21 + 50·5
    assert (s1["heating_degree_days"], s1["cooling_degree_days"], s1["growing_degree_days"]) == (
        approx(1000.0),
        approx(120.0),
        approx(630.0),
    )
    # 72 valid days < 73 → every daily-based feature NULL; 73 → present
    assert (rows[2]["days_valid"], rows[2]["hours_valid"]) == (72, 1728)
    assert rows[2]["coverage"] == approx(1728 / H)
    assert_all_null(rows[2], "air_temperature")
    s3 = rows[3]
    assert (s3["days_valid"], s3["tg_mean"], s3["dtr_mean"], s3["frost_days"]) == (73, 12.5, 0.0, 0)
    assert (s3["heating_degree_days"], s3["growing_degree_days"], s3["cooling_degree_days"]) == (
        approx(73 * 7.5),
        approx(73 * 7.5),
        0.0,
    )


def test_precipitation() -> None:
    rows = compute("precipitation")
    s1 = rows[1]
    assert (s1["hours_valid"], s1["days_valid"]) == (2179, 90)
    # d14 (19 valid hours, 30 mm) is not a day: total 1 + 12 + 25 + 3 + 5·2
    assert s1["precip_total"] == approx(51.0)
    # wet: d10 (0.4+0.1+0.1+0.3+0.1 rounds to 1 mm), d11, d12, d13, d15–19
    assert 0.4 + 0.1 + 0.1 + 0.3 + 0.1 < 1.0  # unrounded, d10 would be a dry day
    assert (s1["wet_days"], s1["heavy_precip_days"], s1["very_heavy_precip_days"]) == (9, 2, 1)
    assert s1["rx1day"] == approx(25.0)
    # best window of five consecutive valid days is d9–d13 (0+1+12+25+3); d11,12,13,15,16 would be 44
    assert s1["rx5day"] == approx(41.0)
    assert s1["sdii"] == approx(51.0 / 9)
    # dry spell d20–d90 touches the quarter end: 71 days, the dry day after the quarter does not count;
    # the wet run d10–d13 is cut by the invalid d14, so the longest is d15–d19
    assert (s1["max_dry_spell_days"], s1["max_wet_spell_days"]) == (71, 5)
    # hourly-based features use every valid hour, including the invalid day's 30 mm
    assert (s1["rx1hour"], s1["precip_hours"]) == (30.0, 15)
    s2 = rows[2]
    assert s2["sdii"] is None  # mean over zero wet days
    assert (s2["wet_days"], s2["max_wet_spell_days"], s2["max_dry_spell_days"]) == (0, 0, 91)
    assert (s2["precip_total"], s2["rx1day"], s2["rx5day"], s2["rx1hour"], s2["precip_hours"]) == (
        0.0,
        0.0,
        0.0,
        0.0,
        0,
    )


def _angle_gap(a: float, b: float) -> float:
    d = abs(a - b) % 360.0
    return min(d, 360.0 - d)


def test_wind() -> None:
    rows = compute("wind")
    s1 = rows[1]
    assert s1["wind_speed_mean"] == approx((1865 * 2.0 + 219 * 6.0) / H)
    # sorted: 100 × 0.0, 1865 × 2.0 (idx 100–1964), 219 × 6.0; position 0.9·2183 = 1964.7
    assert s1["wind_speed_p90"] == pytest.approx(2.0 + 0.7 * 4.0, abs=1e-9)
    assert (s1["wind_speed_max"], s1["calm_hours"], s1["windy_days"]) == (6.0, 100, 0)
    # 350° and 10° average to north, not south; calm hours stay out of the vectors
    assert _angle_gap(s1["wind_dir_mean"], 0.0) < 1e-9
    assert 0.0 <= s1["wind_dir_mean"] < 360.0
    assert s1["wind_dir_steadiness"] == approx(math.cos(math.radians(10)))
    assert s1["dominant_sector"] == "N"
    s2 = rows[2]
    assert s2["wind_speed_mean"] == approx((240 * 11.0 + 1760 * 3.0 + 184 * 0.2) / H)
    assert (s2["wind_speed_p90"], s2["wind_speed_max"], s2["calm_hours"], s2["windy_days"]) == (
        11.0,
        11.0,
        184,
        10,
    )
    assert s2["wind_dir_mean"] == approx(135.0)
    assert s2["wind_dir_steadiness"] == approx(math.sqrt(0.5))
    assert s2["dominant_sector"] == "E"  # 1000 E vs 1000 S: the tie goes to the first in N, NE, E, …
    s3 = rows[3]
    assert (s3["calm_hours"], s3["wind_speed_mean"], s3["wind_speed_p90"]) == (H, 0.0, 0.0)
    assert (s3["wind_dir_mean"], s3["wind_dir_steadiness"], s3["dominant_sector"]) == (None, None, None)


def test_pressure() -> None:
    rows = compute("pressure")
    s1 = rows[1]
    # 24 missing hours and one P = -999 (P0 valid); the pre-quarter row is out
    assert (s1["hours_valid"], s1["days_valid"]) == (2159, 89)
    n = 2159
    # deviations from 1010: +20, 10 × −15, +30, −10
    assert s1["pmsl_mean"] == approx(1010.0 - 110 / n)
    assert (s1["pmsl_min"], s1["pmsl_max"]) == (995.0, 1040.0)
    assert s1["pmsl_std"] == approx(math.sqrt((3650 - 110**2 / n) / (n - 1)))
    assert s1["p_station_mean"] == approx(990.0 + 10 / 2160)
    # valid-day ranges: day 2 → 20, day 4 → 15, day 43 → 10; days 41/42 invalid (missing hours)
    assert s1["pmsl_daily_range_mean"] == approx(45 / 89)
    # P(48) − P(72) = 20; the 1050 before the quarter and the pairs across missing hours never count
    assert s1["pmsl_max_drop_24h"] == approx(20.0)
    assert (s1["low_pressure_hours"], s1["high_pressure_hours"]) == (10, 2)
    # 1747 valid hours (< 1748) and 72 valid days → NULL; 1748 and 73 → present
    assert (rows[2]["hours_valid"], rows[2]["days_valid"]) == (1747, 72)
    assert_all_null(rows[2], "pressure")
    s3 = rows[3]
    assert (s3["hours_valid"], s3["days_valid"]) == (1748, 73)
    assert (s3["pmsl_mean"], s3["pmsl_std"], s3["p_station_mean"], s3["pmsl_daily_range_mean"]) == (
        1010.0,
        0.0,
        990.0,
        0.0,
    )
    assert (s3["pmsl_max_drop_24h"], s3["low_pressure_hours"], s3["high_pressure_hours"]) == (0.0, 0, 0)


def test_moisture() -> None:
    rows = compute("moisture")
    s1 = rows[1]
    assert (s1["hours_valid"], s1["days_valid"], s1["coverage"]) == (H, 91, 1.0)
    assert s1["rh_mean"] == approx((80 * 2169 + 25 * 5 + 96 * 10) / H)
    assert s1["rh_daily_min_mean"] == approx((25 + 80 * 90) / 91)
    assert (s1["dewpoint_mean"], s1["abs_humidity_mean"], s1["wet_bulb_max"]) == (5.0, 8.0, 15.5)
    assert s1["vapour_pressure_mean"] == approx((10 * 2177 + 19 * 7) / H)
    assert s1["dewpoint_depression_mean"] == approx(5.0)  # over the 2154 hours with both TT and TD
    assert (s1["humid_hours"], s1["dry_hours"], s1["muggy_hours"]) == (10, 5, 7)
    s2 = rows[2]
    assert (s2["hours_valid"], s2["days_valid"]) == (1748, 73)
    assert (s2["rh_mean"], s2["rh_daily_min_mean"], s2["dewpoint_mean"], s2["wet_bulb_max"]) == (
        70.0,
        70.0,
        4.0,
        6.0,
    )
    assert s2["dewpoint_depression_mean"] is None  # TT and TD both present on 1747 hours only


def test_only_quarter_rows_and_one_row_per_station() -> None:
    out = duck.compute(cases.temperature(), "air_temperature", RULES)
    assert out.column("station_id").to_pylist() == [1, 2, 3]
    assert out.column_names[:8] == [
        "station_id",
        "hours_expected",
        "hours_valid",
        "days_valid",
        "coverage",
        "qn_min",
        "qn_max",
        "share_recent",
    ]
    assert out.column_names[8:] == [f.name for f in features_for("air_temperature")]


def test_duplicate_station_hour_is_refused() -> None:
    from tests.features.staged_rows import concat, rows
    from weatherinsight.engines import DuplicateHoursError

    t = concat(rows("wind", 5, [0, 1, 2], wind_speed=1.0), rows("wind", 5, [2], wind_speed=3.0))
    with pytest.raises(DuplicateHoursError, match="2 rows for station 5 at 2024-01-01 02:00 UTC"):
        duck.compute(t, "wind", RULES)


def test_process_time_zone_does_not_move_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        rows = compute("air_temperature")
    finally:
        monkeypatch.undo()
        time.tzset()
    # a +1 h shift would pull the 40 °C pre-quarter row (qn 7) into the quarter
    assert (rows[1]["hours_valid"], rows[1]["days_valid"], rows[1]["qn_max"], rows[1]["txx"]) == (
        2175,
        90,
        10,
        31.0,
    )


def test_wind_direction_gate_counts_calm_but_not_missing_direction() -> None:
    from tests.features.staged_rows import concat, rows

    # docs/design.md §5: direction features use the hours where both F and D are present; calm hours (DWD: D = 0)
    # count as valid hours but stay out of the vectors. 1748 hours with F: 1000 calm with D = 0,
    # 747 moving with D, 1 moving without D → 1747 direction hours < 1748 needed.
    calm = rows("wind", 7, list(range(1000)), wind_speed=0.3, wind_direction=0)
    moving = rows("wind", 7, list(range(1000, 1747)), wind_speed=4.0, wind_direction=270)
    no_dir = rows("wind", 7, [1747], wind_speed=4.0)
    out = duck.compute(concat(calm, moving, no_dir), "wind", RULES).to_pylist()[0]
    assert (out["hours_valid"], out["calm_hours"], out["wind_speed_max"]) == (1748, 1000, 4.0)
    assert (out["wind_dir_mean"], out["dominant_sector"]) == (None, None)  # 1747 direction hours < 1748
    # a calm hour without a direction is not a direction hour either
    calm_no_dir = rows("wind", 7, [1748], wind_speed=0.0)
    still = duck.compute(concat(calm, moving, no_dir, calm_no_dir), "wind", RULES).to_pylist()[0]
    assert (still["calm_hours"], still["wind_dir_mean"]) == (1001, None)
    calm_with_dir = rows("wind", 7, [1749], wind_speed=0.0, wind_direction=0)
    ok = duck.compute(concat(calm, moving, no_dir, calm_no_dir, calm_with_dir), "wind", RULES)
    row = ok.to_pylist()[0]
    assert (row["wind_dir_mean"], row["wind_dir_steadiness"], row["dominant_sector"]) == (270.0, 1.0, "W")


def test_sun() -> None:
    rules = Rules(Q, latitudes=((1, 50.0), (2, 50.0)))
    out = {r["station_id"]: r for r in duck.compute(cases.sun(), "sun", rules).to_pylist()}
    s1 = out[1]
    # 18 written hours a day: a valid day needs ceil(20 / 24 · 18) = 15 valid hours; day 90 has 14
    assert (s1["hours_expected"], s1["hours_valid"], s1["days_valid"]) == (H, H - 10, 90)
    assert s1["sunshine_hours"] == approx(30 * 12 + 30 * 1.0)
    assert (s1["sunny_days"], s1["dull_days"], s1["sunshine_day_max"]) == (30, 30, 12.0)

    # N0 by FAO-56 eq. 24/25/34 at 50 °N for 2024-01-01 (J = 1) .. 2024-03-30 (J = 90), written out here
    def n0(j: int) -> float:
        decl = 0.409 * math.sin(2 * math.pi * j / 365 - 1.39)
        return 24 / math.pi * math.acos(-math.tan(math.radians(50.0)) * math.tan(decl))

    possible = sum(round(n0(j), 9) for j in range(1, 91))
    assert s1["possible_sunshine_hours"] == pytest.approx(possible, rel=1e-12)
    assert s1["sunshine_share"] == pytest.approx(390 / possible, rel=1e-12)
    assert out[2]["days_valid"] == 72
    assert_all_null(out[2], "sun")  # 72 valid days < 73
    s3 = out[3]
    assert (s3["days_valid"], s3["sunshine_hours"], s3["sunny_days"], s3["dull_days"]) == (73, 657.0, 73, 0)
    assert (s3["possible_sunshine_hours"], s3["sunshine_share"]) == (None, None)  # no latitude for station 3


def test_cloudiness() -> None:
    rows = compute("cloudiness")
    s1 = rows[1]
    assert (s1["hours_valid"], s1["days_valid"]) == (H, 91)  # coverage counts every written V_N, -1 included
    total = 8 * 240 + 1.5 * 240 + 6.5 * 240 + 4 * 1200 + 4 * 19
    assert s1["cloud_cover_mean"] == approx(total / (H - 5))
    assert (s1["clear_days"], s1["overcast_days"], s1["sky_obscured_hours"]) == (20, 20, 5)
    s2 = rows[2]
    assert s2["cloud_cover_mean"] is None  # 1747 cover hours < 1748
    assert (s2["clear_days"], s2["overcast_days"], s2["sky_obscured_hours"]) == (0, 0, 1)
