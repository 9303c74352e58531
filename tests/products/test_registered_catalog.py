"""A product registered after the API and the client were imported is in their catalog answers — in catalog
order and with its precision — because they read the catalog at call time (``features.catalog.catalog_index``).

The toy product is registered with its rows in reverse name order (toy_warm_hours before toy_temp_max), so
catalog order and the name order used for features unknown to the build differ; a copy of the catalog taken
at import would also serve no precision for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.conftest import ServerThread
from tests.products import toy_product
from weatherinsight import Client
from weatherinsight.api.app import create_app
from weatherinsight.features import definitions
from weatherinsight.features.catalog import catalog, catalog_index, feature
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db

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
