"""Anomaly test setup: planted published values with known normals behind a uvicorn server, on SQLite and
PostgreSQL (``db_settings``).

Planted (``_value``): precipitation months January and July and quarters 1 and 3 of 2019..2021 for stations
1000 and 1001 (1001 has no precip_total in 2019, so its normals over 2019..2020 are NULL with 1 year), and
air_temperature months of station 1000. Normals published over 2019..2020: precipitation per month and per
quarter, air_temperature per month — nothing per season or year.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.conftest import serving
from tests.normals.planting import plant_periods
from weatherinsight.normals import compute_normals
from weatherinsight.periods import Period
from weatherinsight.settings import Settings

P = "precipitation"
T = "air_temperature"
BASE = (2019, 2020)
PERIODS = [Period("month", y, m) for y in (2019, 2020, 2021) for m in (1, 7)]
QUARTERS = [Period("quarter", y, q) for y in (2019, 2020, 2021) for q in (1, 3)]


def _value(station: int, p: Period, feature: str) -> float | int | None:
    if feature == "precip_total":
        if station == 1001 and p.year == 2019:
            return None  # 1 valid year of 2 → no normal
        # quarters 100 mm above the months, so a quarter answer cannot pass for a month one
        return (
            10.0 * p.number + 3.0 * (p.year - 2018) + (station - 1000) + (100 if p.kind == "quarter" else 0)
        )
    if feature == "wet_days":
        return p.number + p.year % 3
    if feature == "tg_mean":  # January 0.1, 1.1, 2.1 °C; July 0.7, 1.7, 2.7 °C in 2019..2021
        return float(p.year - 2019) + p.number / 10
    return 2


@pytest.fixture
def served(db_settings: Settings) -> Iterator[tuple[Settings, str]]:
    plant_periods(db_settings, P, [*PERIODS, *QUARTERS], (1000, 1001), _value)
    plant_periods(db_settings, T, PERIODS, (1000,), _value)
    compute_normals(db_settings, P, period_kind="month", base=BASE)
    compute_normals(db_settings, P, period_kind="quarter", base=BASE)
    compute_normals(db_settings, T, period_kind="month", base=BASE)
    with serving(db_settings) as url:
        yield db_settings, url
