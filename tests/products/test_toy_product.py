"""A product added only by registration flows end to end: mirror → ingest → stage → aggregate → API and client.

``tests/products/toy_product.py`` is a registry entry, a feature definition and two catalog rows, registered
at test time through ``features.definitions.register`` — the same tables the shipped products sit in. Nothing
in the package names it. The curated table comes from ``warehouse.tables`` (for a shipped product a
generated migration creates it; here ``metadata`` creates it directly, as no migration file can be shipped
for a product that exists only during a test). The API and the client run in a fresh process that registers
the toy product before importing them, as a plug-in would.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.fixtures.core import settings_env
from tests.products import toy_product
from tests.products.toy_product import NAME, WARM_C
from weatherinsight import pipeline
from weatherinsight.aggregate import staged_files
from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.features.catalog import critical_features, features_for
from weatherinsight.mirror.server import MirrorHTTPServer
from weatherinsight.mirror.simulate import build_mirror
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings, known_products
from weatherinsight.warehouse import db, lineage, tables

ROOT = Path(__file__).resolve().parents[2]
QUARTER = Quarter(2024, 4)

SERVE = """
import json, sys
from tests.products import toy_product
toy_product.register()
from fastapi.testclient import TestClient
from weatherinsight import Client
from weatherinsight.api.app import create_app
from weatherinsight.settings import load_settings
settings = load_settings()
with TestClient(create_app(settings)) as http:
    features = http.get("/v1/features/toy_temperature/2024/4").json()
    catalog = http.get("/v1/catalog").json()
    health = http.get("/v1/health").status_code
local = Client(settings=settings).features_arrow("toy_temperature", start="2024Q4", end="2024Q4")
print(json.dumps({"features": features, "catalog": catalog, "client": local.to_pylist()}, default=str))
"""


@pytest.fixture
def toy() -> Iterator[None]:
    toy_product.register()
    try:
        yield
    finally:
        toy_product.unregister()


def _expected(settings: Settings) -> dict[int, dict[str, float | int | None]]:
    """The toy features computed here from the staged Parquet with plain Python (gate: 80 % of the hours)."""
    staged = pq.read_table(staged_files(settings, NAME, QUARTER)).to_pylist()
    minimum = math.ceil(round(0.8 * QUARTER.hours, 9))
    by_station: dict[int, list[float]] = {}
    for row in staged:
        if QUARTER.start <= row["ts"] < QUARTER.end and row["temperature"] is not None:
            by_station.setdefault(row["station_id"], []).append(row["temperature"])
    out: dict[int, dict[str, float | int | None]] = {}
    for sid, temps in by_station.items():
        ok = len(temps) >= minimum
        out[sid] = {
            "hours_valid": len(temps),
            "toy_temp_max": max(temps) if ok else None,
            "toy_warm_hours": sum(t > WARM_C for t in temps) if ok else None,
        }
    return out


@pytest.mark.slow
def test_toy_product_flows_end_to_end(
    toy: None, tmp_path: Path, mirror_settings_for: Callable[..., Settings]
) -> None:
    assert NAME in PRODUCTS and NAME in known_products()
    assert [f.name for f in features_for(NAME)] == ["toy_temp_max", "toy_warm_hours"]
    assert critical_features(NAME) == ("toy_temp_max",)

    root = tmp_path / "mirror"
    built = build_mirror(
        root, stations=3, years=1, seed=5, today=date(2025, 2, 10), products=(NAME,), workers=1
    )
    assert any("stundenwerte_TY_" in p for p in built.written)
    server = MirrorHTTPServer(root).start()
    try:
        settings = mirror_settings_for(server.base_url, product_types=[NAME])
        engine = db.get_engine(settings.database_url)
        db.ensure_schema(engine)
        tables.curated_table(NAME).create(engine, checkfirst=True)
        report = pipeline.run_quarter(settings, QUARTER, products=[NAME])
    finally:
        server.stop()
    assert report.ok, report

    want = _expected(settings)
    with engine.connect() as conn:
        published = lineage.read_published(conn, NAME, QUARTER)
    assert len(want) == 3
    assert {
        r["station_id"]: {k: r[k] for k in ("hours_valid", "toy_temp_max", "toy_warm_hours")}
        for r in published
    } == want
    assert {r["dataset_version"] for r in published} == {"2024Q4_v1"}

    # The quality check measures the NULL share of the critical feature its catalog row names, and only that.
    checked = pipeline.quality_check(settings, QUARTER, products=[NAME])
    nulls = [(f.column, f.measured, f.passed) for f in checked.findings if f.check == "null_percentage"]
    missed = sum(r["toy_temp_max"] is None for r in want.values())
    assert missed == 0  # the simulated archive is complete: every station passes the 80 % gate
    assert nulls == [("toy_temp_max", 0.0, True)]
    assert {f.product for f in checked.findings} == {NAME}

    env = {**os.environ, **settings_env(settings), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", SERVE],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    served = {r["station_id"]: r for r in out["features"]["data"]}
    assert out["features"]["count"] == 3
    for sid, row in want.items():
        assert served[sid]["toy_warm_hours"] == row["toy_warm_hours"]
        assert served[sid]["toy_temp_max"] == row["toy_temp_max"]  # one decimal, as staged
    assert [e["name"] for e in out["catalog"]["data"] if e["product"] == NAME] == [
        "toy_temp_max",
        "toy_warm_hours",
    ]
    client = {r["station_id"]: r for r in out["client"]}
    assert {sid: client[sid]["toy_warm_hours"] for sid in want} == {
        sid: r["toy_warm_hours"] for sid, r in want.items()
    }
