"""Station tables under concurrent staging: products share stations, so inserts must never collide."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from weatherinsight.warehouse import db
from weatherinsight.warehouse.stations import _insert_or_update, upsert_station_locations
from weatherinsight.warehouse.tables import station_locations


def _row(valid_to: date | None, height: float) -> dict[str, Any]:
    return {
        "station_id": 1975,
        "valid_from": date(1995, 9, 5),
        "valid_to": valid_to,
        "height_m": height,
        "latitude": 53.6332,
        "longitude": 9.9881,
        "name": "Hamburg-Fuhlsbüttel",
        "source_file": "x.zip",
    }


def test_insert_after_a_concurrent_commit_updates_instead_of_failing(db_url: str) -> None:
    engine = db.get_engine(db_url)
    db.ensure_schema(engine)
    # Another product's staging committed this location between our SELECT (which saw nothing) and our INSERT.
    with engine.begin() as other:
        loc = {(1975, date(1995, 9, 5)): {**_row(None, 14.05), "station_name": "Hamburg-Fuhlsbüttel"}}
        assert upsert_station_locations(other, loc) == (1, 0)
    with engine.begin() as ours:
        _insert_or_update(
            ours, station_locations, [_row(date(2024, 1, 1), 15.0)], keys=("station_id", "valid_from")
        )
    with engine.connect() as c:
        rows = c.execute(select(station_locations.c.valid_to, station_locations.c.height_m)).all()
    assert rows == [(date(2024, 1, 1), 15.0)]
