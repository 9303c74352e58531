"""``include_station=true`` on the feature routes: station columns valid at each row's quarter end."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
from sqlalchemy import create_engine

from tests.api.conftest import Backend
from weatherinsight.api.routes.station_columns import STATION_COLUMNS, station_values

F = "/v1/features/air_temperature"


def test_feature_routes_append_station_columns(backend: Backend) -> None:
    r = backend.client.get(F, params={"station_id": 44, "include_station": "true", "features": "tg_mean"})
    assert r.status_code == 200
    body = r.json()
    assert list(body["data"][0])[-5:] == ["tg_mean", *STATION_COLUMNS]
    # Station 44 moved in 2007: both published quarters get the location valid since then.
    assert [[d[c] for c in STATION_COLUMNS] for d in body["data"]] == [
        ["Großenkneten", 52.9336, 8.237, 44.0]
    ] * 2
    assert body["fields"]["height_m"]["unit"] == "m"
    plain = backend.client.get(F, params={"station_id": 44, "features": "tg_mean"}).json()
    assert [{k: v for k, v in d.items() if k not in STATION_COLUMNS} for d in body["data"]] == plain["data"]
    quarter = backend.client.get(f"{F}/2023/4", params={"include_station": "true", "limit": 2}).json()
    # Station 73 has no location history: the station list's description places it.
    assert [(d["station_id"], d["station_name"]) for d in quarter["data"]] == [
        (44, "Großenkneten"),
        (73, "Aldersbach-Kriestorf"),
    ]
    rest = backend.client.get(quarter["next"]).json()
    assert [d["station_id"] for d in rest["data"]] == [433, 1001]  # the next link keeps limit=2
    assert all(d["latitude"] is not None for d in rest["data"])
    many = backend.client.get(
        F,
        params=[
            ("station_id", 433),
            ("station_id", 3987),
            ("include_station", "true"),
            ("format", "parquet"),
        ],
    )
    table = pq.read_table(io.BytesIO(many.content))
    assert table.column_names[-4:] == list(STATION_COLUMNS)
    assert table.column("station_name").to_pylist() == ["Berlin-Tempelhof", "Potsdam"] * 2
    assert str(table.schema.field("latitude").type) == "double"
    csv = backend.client.get(F, params={"station_id": 44, "include_station": "true", "format": "csv"})
    assert csv.text.splitlines()[0].endswith(",station_name,latitude,longitude,height_m")
    etag = many.headers["etag"]
    assert (
        etag
        != backend.client.get(
            F, params=[("station_id", 433), ("station_id", 3987), ("format", "parquet")]
        ).headers["etag"]
    )
    bad = backend.client.get(F, params={"station_id": 44, "include_station": "perhaps"})
    assert bad.status_code in (400, 422)


def test_location_valid_for_the_quarter(backend: Backend) -> None:
    engine = create_engine(backend.url)
    try:
        with engine.connect() as conn:
            values = station_values(
                conn, [(44, 2000, 1), (44, 2007, 2), (44, 2007, 1), (44, 2024, 1), (99999, 2024, 1)]
            )
    finally:
        engine.dispose()
    # 1969-01-01..2007-05-01 at 52.93/8.23/43 m, from 2007-05-02 at 52.9336/8.2370/44 m: the quarter's end decides.
    assert values == [
        ("Großenkneten", 52.93, 8.23, 43.0),
        ("Großenkneten", 52.9336, 8.237, 44.0),
        ("Großenkneten", 52.93, 8.23, 43.0),
        ("Großenkneten", 52.9336, 8.237, 44.0),
        (None, None, None, None),
    ]
