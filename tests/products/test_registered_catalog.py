"""A product registered after the API and the client were imported is in their catalog answers — in catalog
order and with its precision — because they read the catalog at call time (``features.catalog.catalog_index``).

The toy product is registered with its rows in reverse name order (toy_warm_hours before toy_temp_max), so
catalog order and the name order used for features unknown to the build differ; a copy of the catalog taken
at import would also serve no precision for them.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, text

from tests.api.conftest import ServerThread
from tests.products import toy_product
from tests.warehouse.curated_rows import curated_row
from weatherinsight import Client
from weatherinsight.api.app import create_app
from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.features import definitions
from weatherinsight.features.catalog import FeatureSpec, catalog, catalog_index, feature
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage, tables

REVERSED = tuple(reversed(toy_product.FEATURES))


@pytest.fixture
def toy_reversed() -> Iterator[None]:
    definitions.register(toy_product.PRODUCT, REVERSED, toy_product.build)
    try:
        yield
    finally:
        toy_product.unregister()


def _toy(rows: list[dict[str, Any]]) -> list[tuple[str, int | None]]:
    return [(r["name"], r["precision"]) for r in rows if r["product"] == toy_product.NAME]


def test_catalog_route_and_clients_see_a_product_registered_after_import(
    db_settings: Settings, toy_reversed: None
) -> None:
    assert [f.name for f in catalog()[-2:]] == ["toy_warm_hours", "toy_temp_max"]
    assert feature("toy_temp_max").precision == 1  # °C
    db.ensure_schema(db_settings.database_url)  # feature_catalog now holds the toy rows
    shipped = len(catalog()) - 2
    expected = [("toy_warm_hours", 0), ("toy_temp_max", 1)]
    app = create_app(db_settings)
    try:
        with ServerThread(app) as server:
            body = httpx.get(f"{server.url}/v1/catalog", timeout=30).json()
            assert body["count"] == shipped + 2
            assert _toy(body["data"][-2:]) == expected  # last, in catalog (not name) order
            remote = Client(server.url).catalog()
            assert _toy(remote.to_dict("records")) == expected
    finally:
        app.state.api.engine.dispose()
    local = Client(settings=db_settings).catalog()
    assert _toy(local.to_dict("records")[-2:]) == expected


def test_catalog_index_follows_registration() -> None:
    before = dict(catalog_index())
    assert "toy_temp_max" not in before
    definitions.register(toy_product.PRODUCT, REVERSED, toy_product.build)
    try:
        index = catalog_index()
        assert (index["toy_warm_hours"][0], index["toy_temp_max"][0]) == (len(before), len(before) + 1)
    finally:
        toy_product.unregister()
    assert dict(catalog_index()) == before
    with pytest.raises(KeyError):
        feature("toy_temp_max")


# --------------------------------------------------------------------------- routes taking a product name

TOY = toy_product.NAME
Q1 = Quarter(2024, 1)
#: The toy product registered again with other rows: a feature renamed, a definition changed.
TOY_V2 = (
    FeatureSpec(
        "toy_temp_max",
        TOY,
        "temperature",
        "hourly",
        "°C",
        "highest hourly TT_TY, v2",
        "maximum",
        critical=True,
    ),
    FeatureSpec(
        "toy_cold_hours", TOY, "temperature", "hourly", "hours", "valid hours with TT_TY < 0 °C", "toy", "int"
    ),
)


def slow_refresh(settings: Settings) -> Settings:
    """Published versions re-read once a minute: a change seen sooner is the catalog's doing, not the timer's."""
    return settings.model_copy(update={"api_data_refresh_seconds": 60.0})


def _publish_toy(settings: Settings, engine: Engine, *, version: str | None = None) -> str:
    """The toy curated table (created if missing) with station 44's 2024Q1 row, published; ``version``: add
    the row under that already published version instead of publishing a new one. Returns the version name."""
    db.ensure_schema(engine)  # feature_catalog follows the toy rows registered now
    tables.curated_table(TOY).create(engine, checkfirst=True)
    v = None
    with engine.begin() as conn:
        if version is None:
            v = lineage.begin_version(conn, settings, "curated", TOY, Q1, fingerprint="toy", parents=[])
            version = v.version_name
        db.bulk_insert(conn, tables.curated_table(TOY), [curated_row(TOY, 44, Q1, version, seed=1)])
        if v is not None:
            lineage.publish_version(conn, v, row_count=1)
    return version


def _error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"], body["message"]


def test_routes_accept_a_product_registered_after_the_app_was_built(db_settings: Settings) -> None:
    """Every route taking a product name checks it against the registry per request: the toy product registered
    after ``create_app`` is served (the hot path included), an unknown or unregistered one is the typed 422
    naming the parameter and the products known then."""
    db.ensure_schema(db_settings.database_url)
    app = create_app(slow_refresh(db_settings))
    engine = app.state.api.engine
    shipped = ", ".join(PRODUCTS)
    try:
        with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
            assert _error(client.get("/v1/catalog", params={"product": TOY})) == (
                422,
                "invalid_parameter",
                f"query parameter 'product': unknown product '{TOY}'; known: {shipped}",
            )
            definitions.register(toy_product.PRODUCT, toy_product.FEATURES, toy_product.build)
            try:
                version = _publish_toy(db_settings, engine)
                value = curated_row(TOY, 44, Q1, version, seed=1)["toy_temp_max"]
                catalog_rows = client.get("/v1/catalog", params={"product": TOY}).json()["data"]
                assert [r["name"] for r in catalog_rows] == ["toy_temp_max", "toy_warm_hours"]
                for url in (f"/v1/features/{TOY}?station_id=44", f"/v1/features/{TOY}?station_id=44"):
                    page = client.get(url).json()  # the second from the hot path
                    assert [(r["station_id"], r["toy_temp_max"]) for r in page["data"]] == [
                        (44, round(value, 1))
                    ]
                assert app.state.api.hot_path_served == 1
                quarter = client.get(f"/v1/features/{TOY}/2024/1").json()
                assert [(r["station_id"], r["dataset_version"]) for r in quarter["data"]] == [(44, version)]
                long = client.get("/v1/stations/44/features", params={"products": f"air_temperature,{TOY}"})
                assert [(r["product"], r["toy_temp_max"]) for r in long.json()["data"]] == [
                    (TOY, round(value, 1))
                ]
                datasets = client.get("/v1/datasets", params={"product": TOY}).json()["data"]
                assert [d["version_name"] for d in datasets] == [version]
                assert client.get("/v1/quality/2024/1", params={"product": TOY}).status_code == 200
                assert client.get("/v1/stations", params={"product": TOY}).json()["count"] == 0
                spec = client.get("/v1/openapi.json").json()  # built now: names the toy product
                (path_param,) = spec["paths"]["/v1/features/{product}"]["get"]["parameters"][:1]
                assert path_param["schema"]["enum"] == [*PRODUCTS]
                assert path_param["schema"]["enum"][-1] == TOY
                assert _error(client.get("/v1/features/toy")) == (
                    422,
                    "invalid_parameter",
                    f"path parameter 'product': unknown product 'toy'; known: {shipped}, {TOY}",
                )
            finally:
                toy_product.unregister()
            # dropped again: refused everywhere, the hot path's cached station included
            for url in (f"/v1/features/{TOY}?station_id=44", f"/v1/features/{TOY}/2024/1"):
                assert _error(client.get(url)) == (
                    422,
                    "invalid_parameter",
                    f"path parameter 'product': unknown product '{TOY}'; known: {shipped}",
                ), url
            assert app.state.api.hot_path_served == 1
            assert client.get("/v1/datasets", params={"product": TOY}).status_code == 422
            assert client.get("/v1/stations/44/features", params={"products": TOY}).json()["error"] == (
                "invalid_parameter"
            )
    finally:
        engine.dispose()


def test_a_product_registered_again_with_other_rows_is_served_with_them(db_settings: Settings) -> None:
    """The API's caches derived from a product's catalog rows (field descriptions, rounding, SELECTs, Arrow types,
    cached station rows, ETags and so the body cache) follow an unregistration and a new registration with other
    rows, though the published version is the same."""
    db.ensure_schema(db_settings.database_url)
    app = create_app(slow_refresh(db_settings))
    engine = app.state.api.engine
    urls = (
        f"/v1/features/{TOY}?station_id=44",
        f"/v1/features/{TOY}/2024/1",
        f"/v1/features/{TOY}?station_id=44&station_id=73",
    )
    try:
        with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
            definitions.register(toy_product.PRODUCT, toy_product.FEATURES, toy_product.build)
            try:
                version = _publish_toy(db_settings, engine)
                first = {url: client.get(url) for url in urls}
                for url, r in first.items():
                    assert r.status_code == 200, r.text
                    body = r.json()
                    assert list(body["data"][0])[-2:] == ["toy_temp_max", "toy_warm_hours"], url
                    assert body["fields"]["toy_temp_max"]["definition"] == "highest hourly TT_TY"
                parquet = client.get(urls[1], params={"format": "parquet"})
                assert pq.read_table(io.BytesIO(parquet.content)).column_names[-1] == "toy_warm_hours"
            finally:
                toy_product.unregister()
            with engine.begin() as conn:
                conn.execute(text(f"DROP TABLE {toy_product.PRODUCT.curated_table}"))
            definitions.register(toy_product.PRODUCT, TOY_V2, toy_product.build)
            try:
                assert _publish_toy(db_settings, engine, version=version) == version
                row = curated_row(TOY, 44, Q1, version, seed=1)
                for url, old in first.items():
                    r = client.get(url, headers={"If-None-Match": old.headers["etag"]})
                    assert r.status_code == 200, url
                    body = r.json()
                    assert [tuple(d.items())[-2:] for d in body["data"]] == [
                        (
                            ("toy_temp_max", round(row["toy_temp_max"], 1)),
                            ("toy_cold_hours", row["toy_cold_hours"]),
                        )
                    ], url
                    assert body["fields"]["toy_temp_max"]["definition"] == "highest hourly TT_TY, v2"
                    assert body["fields"]["toy_cold_hours"]["unit"] == "hours"
                parquet = client.get(urls[1], params={"format": "parquet"})
                table = pq.read_table(io.BytesIO(parquet.content))
                assert table.column_names[-2:] == ["toy_temp_max", "toy_cold_hours"]
                assert str(table.schema.field("toy_cold_hours").type) == "int64"
                catalog_rows = client.get("/v1/catalog", params={"product": TOY}).json()["data"]
                assert [(r["name"], r["definition"]) for r in catalog_rows] == [
                    (f.name, f.definition) for f in TOY_V2
                ]
            finally:
                toy_product.unregister()
    finally:
        engine.dispose()
