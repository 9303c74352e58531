"""The API over data produced by the real pipeline (ingest → stage → aggregate) from the DWD mirror.

Runs ``pipeline.run_quarter`` for the last complete quarter on the shared mirror (tests/fixtures/mirror.py), then
serves the database with uvicorn and checks that the API returns exactly the published curated rows, the
stations from the station lists with their location history, and the version lineage.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import httpx
import pytest
from sqlalchemy import select

from tests.api.conftest import ServerThread, served
from tests.fixtures.mirror import MIRROR_STATIONS
from weatherinsight import pipeline
from weatherinsight.api.app import create_app
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage
from weatherinsight.warehouse.tables import station_metadata

PRODUCTS = ["air_temperature", "wind"]


@pytest.mark.slow
def test_api_serves_pipeline_output(
    mirror_url: str, mirror_settings_for: Callable[..., Settings], db_url: str, mirror_today: date
) -> None:
    settings = mirror_settings_for(mirror_url, db_url)
    quarter = Quarter.last_complete(mirror_today)
    report = pipeline.run_quarter(settings, quarter, products=PRODUCTS)
    assert report is not None
    engine = db.get_engine(settings.database_url)
    with engine.connect() as conn:
        published = {p: lineage.read_published(conn, p, quarter) for p in PRODUCTS}
        curated = lineage.find_available(conn, "curated", "air_temperature", quarter)
        listed = sorted(
            conn.execute(
                select(station_metadata.c.station_id).where(station_metadata.c.product == "air_temperature")
            ).scalars()
        )
    # The mirror's stations do not all report in every quarter; each published row is one station.
    assert 0 < len(published["air_temperature"]) <= MIRROR_STATIONS
    assert len(listed) == MIRROR_STATIONS
    assert curated is not None

    with (
        ServerThread(create_app(settings)) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        for product in PRODUCTS:
            body = client.get(f"/v1/features/{product}/{quarter.year}/{quarter.quarter}").json()
            want = published[product]
            assert body["count"] == len(want) > 0
            for got, row in zip(body["data"], want, strict=True):
                assert (got["station_id"], got["dataset_version"]) == (
                    row["station_id"],
                    row["dataset_version"],
                )
                for key, value in row.items():
                    if key in ("computed_at", "period_kind"):  # period_kind: quarter rows, not served
                        continue
                    if isinstance(value, float) and key in served(row) and served(row)[key] != value:
                        assert got[key] == served(row)[key], key  # rounded to the catalog precision
                    elif isinstance(value, float):
                        assert got[key] == pytest.approx(value, rel=1e-12), key
                    else:
                        assert got[key] == value, key

        sid = published["air_temperature"][0]["station_id"]
        single = client.get("/v1/features/air_temperature", params={"station_id": sid}).json()
        assert [(d["year"], d["quarter"]) for d in single["data"]] == [(quarter.year, quarter.quarter)]

        stations = client.get("/v1/stations", params={"product": "air_temperature"}).json()
        assert [s["station_id"] for s in stations["data"]] == listed
        assert {r["station_id"] for r in published["air_temperature"]} <= set(listed)
        detail = client.get(f"/v1/stations/{sid}").json()
        assert detail["locations"], "the mirror writes Metadaten_Geographie for every station"
        assert "air_temperature" in detail["products"]

        versions = client.get(
            "/v1/datasets", params={"product": "air_temperature", "status": "AVAILABLE"}
        ).json()
        by_name = {(v["kind"], v["version_name"]): v for v in versions["data"]}
        top = by_name[("curated", curated.version_name)]
        assert top["row_count"] == len(published["air_temperature"])
        assert top["parent_versions"], "a curated version names the staged version it was built from"
        own = [p for p in top["parent_versions"] if "/" not in p]
        assert own and all(any(name == parent for _, name in by_name) for parent in own), own
        # the staged daily KL version the day-based indices read (issue #17), named with its product
        assert [p for p in top["parent_versions"] if "/" in p] == [f"daily_climate/{quarter}_staged_v1"]

        health = client.get("/v1/health").json()
        assert health["latest_quarters"]["air_temperature"] == str(quarter)
        assert health["latest_quarters"]["wind"] == str(quarter)
    db.dispose_engines()
