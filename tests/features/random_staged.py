"""Seeded random staged tables (realistic value ranges, 1-decimal values, NULL gaps, invalid days) for the
engine parity test and the benchmark's correctness cross-check."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from weatherinsight.dwd.products import get_product
from weatherinsight.quarters import Quarter

_RANGES: dict[str, tuple[float, float]] = {
    "temperature": (-15.0, 35.0),
    "relative_humidity": (20.0, 100.0),
    "wind_speed": (0.0, 16.0),
    "pressure_sea_level": (985.0, 1040.0),
    "pressure_station": (960.0, 1020.0),
    "absolute_humidity": (2.0, 18.0),
    "vapour_pressure": (3.0, 25.0),
    "wet_bulb_temperature": (-10.0, 25.0),
    "pressure": (960.0, 1030.0),
    "dew_point": (-15.0, 22.0),
}


def random_staged(product: str, quarter: Quarter, stations: list[int], *, seed: int = 7) -> pa.Table:
    """One row per station and hour of the quarter; ~5 % NULL hours, whole NULL days at random, and one
    station per 4 with only ~75 % of its primary variable's hours (below the gates)."""
    prod = get_product(product)
    rng = np.random.default_rng(seed)
    hours = quarter.hours
    n = hours * len(stations)
    start = np.datetime64(quarter.start.replace(tzinfo=None), "us")
    ts = np.tile(start + np.arange(hours).astype("timedelta64[h]"), len(stations))
    sid = np.repeat(np.asarray(stations, dtype=np.int32), hours)
    hour_idx = np.tile(np.arange(hours), len(stations))
    day = hour_idx // 24
    cols: dict[str, pa.Array] = {
        "station_id": pa.array(sid, pa.int32()),
        "ts": pa.array(ts).cast(pa.timestamp("us", tz="UTC")),
        "qn": pa.array(rng.choice(np.array([1, 3, 5, 10], dtype=np.int8), n), pa.int8()),
    }
    for var in prod.variables:
        null = rng.random(n) < 0.05
        bad_days = rng.random((len(stations), hours // 24 + 1)) < 0.04
        null |= bad_days[np.repeat(np.arange(len(stations)), hours), day]
        sparse = (sid % 4 == 3) & (rng.random(n) < 0.25)
        if var.column == prod.primary:
            null |= sparse
        if var.column == "precipitation_height":
            wet = rng.random(n) < 0.15
            vals = np.where(wet, np.round(rng.gamma(0.8, 1.5, n), 1), 0.0)
        elif var.column == "precipitation_indicator":
            vals = (rng.random(n) < 0.15).astype(np.int8)
        elif var.column == "precipitation_form":
            vals = rng.integers(0, 9, n).astype(np.int8)
        elif var.column == "sunshine_duration":
            daylight = (hour_idx % 24 >= 6) & (hour_idx % 24 <= 17)
            vals = np.where(daylight, rng.integers(0, 61, n), 0).astype(np.float64)
        elif var.column == "cloud_cover":
            vals = np.where(rng.random(n) < 0.01, -1, rng.integers(0, 9, n)).astype(np.int8)  # -1: sky hidden
        elif var.column == "cloud_cover_method":
            vals = rng.choice(np.array(["P", "I"]), n)
        elif var.column == "wind_direction":
            vals = (rng.integers(0, 37, n) * 10).astype(np.int16)
        else:
            lo, hi = _RANGES[var.column]
            cyc = np.sin(2 * np.pi * hour_idx / 24.0) * (hi - lo) * 0.15
            vals = np.round(np.clip(rng.normal((lo + hi) / 2, (hi - lo) / 6, n) + cyc, lo, hi), 1)
        cols[var.column] = pa.array(vals, mask=null).cast(var.arrow_type)
    cols["source_period"] = pa.array(np.where(hour_idx > hours - 500, "recent", "historical"))
    cols["source_file"] = pa.array(np.full(n, f"produkt_{prod.code_lower}_stunde.txt"))
    return pa.table(cols, schema=prod.staged_schema)
