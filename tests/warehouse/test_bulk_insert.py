"""bulk_insert: COPY on PostgreSQL, executemany on SQLite — same counts and values, inside the caller's transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from sqlalchemy import Engine, func, select

from weatherinsight.warehouse import db
from weatherinsight.warehouse.tables import dataset_versions, station_locations, station_metadata


def test_arrow_table_round_trip(engine: Engine) -> None:
    data = pa.table(
        {
            "station_id": pa.array([44, 44, 73], pa.int32()),
            "valid_from": pa.array([date(1990, 1, 1), date(2007, 5, 2), date(1951, 1, 1)], pa.date32()),
            "valid_to": pa.array([date(2007, 5, 1), None, None], pa.date32()),
            "height_m": [44.0, 46.5, None],
            "latitude": [52.9336, 52.9337, 48.6159],
            "longitude": [8.237, 8.2371, 13.0506],
            "name": ["Großenkneten", "Großenkneten", "Aldersbach-Kriestorf"],
            "source_file": ["Metadaten_Geographie_00044.txt"] * 2 + ["Metadaten_Geographie_00073.txt"],
        }
    )
    with engine.begin() as conn:
        assert db.bulk_insert(conn, station_locations, data) == 3
    with engine.connect() as conn:
        rows = conn.execute(
            select(station_locations).order_by(station_locations.c.station_id, station_locations.c.valid_from)
        ).all()
    got = [(r.station_id, r.valid_from, r.valid_to, r.height_m, r.latitude, r.name) for r in rows]
    assert got == [
        (44, date(1990, 1, 1), date(2007, 5, 1), 44.0, 52.9336, "Großenkneten"),
        (44, date(2007, 5, 2), None, 46.5, 52.9337, "Großenkneten"),
        (73, date(1951, 1, 1), None, None, 48.6159, "Aldersbach-Kriestorf"),
    ]


def test_dicts_with_json_and_timestamps(engine: Engine) -> None:
    ts = datetime(2024, 4, 1, 0, 30, tzinfo=UTC)
    rows = [
        {
            "version_name": f"2024Q1_v{n}",
            "version_number": n,
            "kind": "curated",
            "product": "wind",
            "year": 2024,
            "quarter": 1,
            "status": "FAILED",
            "parent_versions": ["2024Q1_staged_v1", "2024Q1_raw_v2"],
            "created_at": ts,
            "updated_at": ts,
        }
        for n in (1, 2)
    ]
    rows[1]["error"] = "boom"  # a key present in one dict only → NULL for the others
    with engine.begin() as conn:
        assert db.bulk_insert(conn, "dataset_versions", rows) == 2
    with engine.connect() as conn:
        got = conn.execute(select(dataset_versions).order_by(dataset_versions.c.version_number)).all()
    assert [(r.version_name, r.parent_versions, r.error) for r in got] == [
        ("2024Q1_v1", ["2024Q1_staged_v1", "2024Q1_raw_v2"], None),
        ("2024Q1_v2", ["2024Q1_staged_v1", "2024Q1_raw_v2"], "boom"),
    ]
    assert got[0].created_at.replace(tzinfo=got[0].created_at.tzinfo or UTC) == ts


def test_many_rows_and_rollback(engine: Engine) -> None:
    n = 25_001  # more than two internal batches
    data = pa.table(
        {
            "product": ["wind"] * n,
            "station_id": pa.array(range(1, n + 1), pa.int32()),
            "name": [f"Station {i}" for i in range(1, n + 1)],
            "lat": [50.0 + i / 1e5 for i in range(1, n + 1)],
        }
    )
    with pytest.raises(RuntimeError), engine.begin() as conn:
        assert db.bulk_insert(conn, station_metadata, data) == n
        raise RuntimeError("abort the load")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(station_metadata)).scalar_one() == 0
    with engine.begin() as conn:
        assert db.bulk_insert(conn, station_metadata, data) == n
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(station_metadata)).scalar_one() == n
        last = conn.execute(select(station_metadata).where(station_metadata.c.station_id == n)).one()
        assert (last.name, last.lat, last.lon) == (f"Station {n}", 50.0 + n / 1e5, None)


def test_bad_input_is_a_clear_error(engine: Engine) -> None:
    with engine.begin() as conn:
        with pytest.raises(
            db.WarehouseError, match=r"station_locations: unknown column\(s\) \['elevation'\]"
        ):
            db.bulk_insert(conn, station_locations, [{"station_id": 1, "elevation": 3.0}])
        with pytest.raises(db.WarehouseError, match="unknown table 'nope'"):
            db.bulk_insert(conn, "nope", [])
        assert db.bulk_insert(conn, station_locations, []) == 0
