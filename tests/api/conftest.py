"""API test setup: one curated database per backend (SQLite, PostgreSQL) filled through the warehouse layer,
served by a real uvicorn server on 127.0.0.1 (session scope: built once, shared by the route tests)."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from tests.conftest import require
from tests.warehouse.curated_rows import curated_row
from weatherinsight.api.app import create_app
from weatherinsight.features.catalog import feature
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage
from weatherinsight.warehouse.tables import (
    curated_table,
    quality_check_results,
    station_locations,
    station_metadata,
)

Q4_23, Q1_24, Q2_24 = Quarter(2023, 4), Quarter(2024, 1), Quarter(2024, 2)

#: (station_id, name, state, height, lat, lon, valid_from, valid_to, products)
STATIONS: list[tuple[int, str, str, float, float, float, date, date | None, tuple[str, ...]]] = [
    (
        44,
        "Großenkneten",
        "Niedersachsen",
        44.0,
        52.9336,
        8.2370,
        date(1969, 1, 1),
        None,
        ("air_temperature", "precipitation", "wind"),
    ),
    (
        73,
        "Aldersbach-Kriestorf",
        "Bayern",
        340.0,
        48.6159,
        13.0506,
        date(2004, 1, 1),
        None,
        ("air_temperature", "precipitation"),
    ),
    (
        433,
        "Berlin-Tempelhof",
        "Berlin",
        48.0,
        52.4675,
        13.4021,
        date(1938, 1, 1),
        None,
        ("air_temperature", "wind", "pressure"),
    ),
    (
        1001,
        "Stillgelegt",
        "Sachsen",
        100.0,
        51.0,
        13.7,
        date(1990, 1, 1),
        date(2023, 12, 31),
        ("air_temperature",),
    ),
    (3987, "Potsdam", "Brandenburg", 81.0, 52.3813, 13.0622, date(1893, 1, 1), None, ("air_temperature",)),
]

#: What the fixture publishes: (product, quarter, stations, seed, final status)
VERSIONS: list[tuple[str, Quarter, list[int], int, str]] = [
    ("air_temperature", Q4_23, [44, 73, 433, 1001, 3987], 0, "AVAILABLE"),
    ("air_temperature", Q1_24, [44, 73], 1, "SUPERSEDED"),
    ("air_temperature", Q1_24, [44, 73, 433, 3987], 2, "AVAILABLE"),
    ("air_temperature", Q2_24, [44], 3, "PENDING"),
    ("wind", Q1_24, [44, 433], 4, "AVAILABLE"),
]
#: Station 73's coverage in air_temperature 2024Q1_v2 (for min_coverage tests).
LOW_COVERAGE = 0.5


def expected_row(product: str, station: int, quarter: Quarter, version: str, seed: int) -> dict[str, Any]:
    row = curated_row(product, station, quarter, version, seed=seed)
    if (product, station, quarter, version) == ("air_temperature", 73, Q1_24, "2024Q1_v2"):
        row["coverage"] = LOW_COVERAGE
        row["hours_valid"] = quarter.hours // 2
    return row


def served(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row as the API serves it: float features rounded to their catalog precision (stated there in
    plain numbers: °C/mm/m/s/hPa 1 decimal, shares 3, degrees 0); everything else unchanged."""
    digits = {"°C": 1, "mm": 1, "m/s": 1, "hPa": 1, "1": 3, "°": 0}
    out = dict(row)
    for name, value in row.items():
        try:
            spec = feature(name)
        except KeyError:
            continue
        if isinstance(value, float) and spec.sql_type == "float":
            out[name] = round(value, digits.get(spec.unit, 1))
    return out


def seed_database(url: str, settings: Settings) -> None:
    db.ensure_schema(url)
    engine = db.get_engine(url)
    with engine.begin() as conn:
        meta_rows = [
            {
                "product": product,
                "station_id": sid,
                "name": name,
                "state": state,
                "height": height,
                "lat": lat,
                "lon": lon,
                "valid_from": vf,
                "valid_to": vt,
                "source_file": f"{product}_Beschreibung_Stationen.txt",
            }
            for sid, name, state, height, lat, lon, vf, vt, products in STATIONS
            for product in products
        ]
        db.bulk_insert(conn, station_metadata, meta_rows)
        db.bulk_insert(
            conn,
            station_locations,
            [
                {
                    "station_id": 44,
                    "valid_from": date(1969, 1, 1),
                    "valid_to": date(2007, 5, 1),
                    "height_m": 43.0,
                    "latitude": 52.93,
                    "longitude": 8.23,
                    "name": "Großenkneten",
                    "source_file": "Metadaten_Geographie_00044.txt",
                },
                {
                    "station_id": 44,
                    "valid_from": date(2007, 5, 2),
                    "valid_to": None,
                    "height_m": 44.0,
                    "latitude": 52.9336,
                    "longitude": 8.2370,
                    "name": "Großenkneten",
                    "source_file": "Metadaten_Geographie_00044.txt",
                },
            ],
        )
    for product, quarter, stations, seed, status in VERSIONS:
        with engine.begin() as conn:
            v = lineage.begin_version(
                conn,
                settings,
                "curated",
                product,
                quarter,
                fingerprint=f"fp{seed}",
                parents=[f"{quarter}_staged_v1"],
            )
            rows = [expected_row(product, s, quarter, v.version_name, seed) for s in stations]
            db.bulk_insert(conn, curated_table(product), rows)
            if status in ("AVAILABLE", "SUPERSEDED"):
                lineage.publish_version(conn, v, row_count=len(rows))
        # SUPERSEDED rows come from publishing the next version of the same quarter.
    with engine.begin() as conn:
        results = []
        for run, when, checks in (
            (
                "run-a",
                datetime(2024, 4, 2, 6, 0, tzinfo=UTC),
                [("row_count", "fatal", True), ("null_percentage", "warning", True)],
            ),
            (
                "run-b",
                datetime(2024, 4, 3, 6, 0, tzinfo=UTC),
                [
                    ("row_count", "fatal", True),
                    ("null_percentage", "warning", False),
                    ("station_coverage", "fatal", False),
                ],
            ),
        ):
            for check, severity, passed in checks:
                results.append(
                    {
                        "run_id": run,
                        "checked_at": when,
                        "year": 2024,
                        "quarter": 1,
                        "product": "air_temperature",
                        "table_name": "quarterly_temperature_features",
                        "check_name": check,
                        "column_name": None,
                        "severity": severity,
                        "passed": passed,
                        "measured_value": 4.0,
                        "threshold": 50.0,
                        "message": f"{check} {'ok' if passed else 'failed'}",
                    }
                )
        db.bulk_insert(conn, quality_check_results, results)


class ServerThread:
    """uvicorn serving an app on a free 127.0.0.1 port in a background thread."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The API of ``settings`` served by a ``ServerThread``; yields its base URL and disposes the app's engine."""
    app = create_app(settings)
    try:
        with ServerThread(app) as server:
            yield server.url
    finally:
        app.state.api.engine.dispose()


@dataclass
class Backend:
    name: str
    url: str
    settings: Settings
    base: str
    client: httpx.Client
    app: FastAPI


#: The test servers re-read the published versions every 0.2 s (default 1 s), so a test that publishes waits
#: ``REFRESH_SECONDS`` instead of a second before the station cache must show the new version.
REFRESH_SECONDS = 0.2


def _make_settings(data_dir: Path, url: str, **extra: Any) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=url,
        raw_store_url=str(data_dir / "raw"),
        dwd_base_url="http://127.0.0.1:9/climate_environment/CDC/observations_germany/climate/hourly/",
        **{"api_data_refresh_seconds": REFRESH_SECONDS, **extra},
    )


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """A seeded curated database and a uvicorn server on it, once per backend and session."""
    data_dir = tmp_path_factory.mktemp(f"api_{request.param}")
    dbname = None
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'weatherinsight.db'}"
    else:
        import psycopg

        from tests.fixtures.core import PG_ADMIN_URL, _pg_available

        require(_pg_available(), f"PostgreSQL not reachable at {PG_ADMIN_URL}")
        dbname = f"wi_api_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        url = f"{PG_ADMIN_URL.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://')}/{dbname}"
    settings = _make_settings(data_dir, url)
    app: FastAPI | None = None
    try:
        seed_database(url, settings)
        app = create_app(settings)
        with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
            yield Backend(request.param, url, settings, server.url, client, app)
    finally:
        db.get_engine(url).dispose()
        if app is not None:
            app.state.api.engine.dispose()
        if dbname is not None:
            import psycopg

            from tests.fixtures.core import PG_ADMIN_URL

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@pytest.fixture
def keyed_server(backend: Backend) -> Iterator[tuple[Backend, ServerThread]]:
    """A second server on the same database with API keys required, CORS for one origin, key cache off."""
    settings = _make_settings(
        backend.settings.data_dir,
        backend.url,
        api_keys_required=True,
        api_rate_limit_per_minute=3,
        api_cors_origins="https://maps.example.org, https://other.example.org",
    )
    with ServerThread(create_app(settings, key_cache_seconds=0)) as server:
        yield backend, server
