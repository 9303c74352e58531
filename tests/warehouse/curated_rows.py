"""Builders of curated rows for tests (warehouse, API): every column of a product's curated table filled."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from weatherinsight.features.catalog import features_for
from weatherinsight.quarters import Quarter

COMPUTED_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SECTORS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


def feature_value(name: str, sql_type: str, station_id: int, seed: int) -> Any:
    """A deterministic value per (feature, station, seed) so tests can assert exact numbers."""
    if sql_type == "int":
        return (station_id * 7 + seed * 3 + len(name)) % 90
    if sql_type == "str":
        return SECTORS[(station_id + seed) % len(SECTORS)]
    return round(station_id / 10 + seed + len(name) / 100, 3)


def curated_row(
    product: str, station_id: int, quarter: Quarter, version: str, *, seed: int = 0
) -> dict[str, Any]:
    hours_valid = quarter.hours - station_id % 5
    row: dict[str, Any] = {
        "station_id": station_id,
        "year": quarter.year,
        "quarter": quarter.quarter,
        "dataset_version": version,
        "hours_expected": quarter.hours,
        "hours_valid": hours_valid,
        "days_valid": quarter.days,
        "coverage": hours_valid / quarter.hours,
        "qn_min": 3,
        "qn_max": 10,
        "share_recent": 0.0,
        "computed_at": COMPUTED_AT,
    }
    for f in features_for(product):
        row[f.name] = feature_value(f.name, f.sql_type, station_id, seed)
    return row
