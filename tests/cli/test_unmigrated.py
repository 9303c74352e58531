"""Readers on a database that was never migrated: one typed error naming the database and `weatherinsight db
upgrade` — from the CLI's read verbs (exit 2, one stderr line), ``Client`` and the API (503 ``schema_missing``) —
on an empty SQLite file and on a fresh PostgreSQL database; after ``db upgrade`` the same reads succeed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import ServerThread, _make_settings
from tests.fixtures.core import settings_env
from weatherinsight.api.app import create_app
from weatherinsight.client import Client
from weatherinsight.client.query import QueryError
from weatherinsight.errors import SchemaMissingError
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db

CLI = Path(sys.executable).with_name("weatherinsight")


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _shown(url: str) -> str:
    """The database as the error names it (password hidden, psycopg driver named)."""
    return db.get_engine(url).url.render_as_string(hide_password=True)


def _empty(db_settings: Settings) -> None:
    if db_settings.database_url.startswith("sqlite"):
        Path(
            db_settings.database_url.removeprefix("sqlite:///")
        ).touch()  # an empty file, as `touch` leaves it


@pytest.mark.parametrize(
    "verb", [["features", "air_temperature"], ["features", "wind", "--anomalies"], ["stations"]]
)
def test_read_verbs_name_the_database_and_db_upgrade(db_settings: Settings, verb: list[str]) -> None:
    _empty(db_settings)
    res = _run(db_settings, *verb)
    assert res.returncode == 2, res.stderr
    assert res.stderr == (
        f"error: the curated database {_shown(db_settings.database_url)} has no WeatherInsight schema "
        "(it was never migrated) — run `weatherinsight db upgrade` with the same WEATHERINSIGHT_DATABASE_URL\n"
    )
    assert res.stdout == ""


def test_db_upgrade_as_advised_makes_the_reads_work(db_settings: Settings) -> None:
    _empty(db_settings)
    up = _run(db_settings, "db", "upgrade")
    assert up.returncode == 0, up.stderr
    assert up.stdout == f"{_shown(db_settings.database_url)} is at schema revision {db.head_revision()}\n"
    res = _run(db_settings, "stations")
    assert res.returncode == 0, res.stderr
    assert "0 station(s)" in res.stdout
    again = _run(db_settings, "db", "upgrade")  # at head: nothing to do, same answer
    assert (again.returncode, again.stdout) == (0, up.stdout)


def test_local_client_raises_schema_missing(db_settings: Settings) -> None:
    _empty(db_settings)
    client = Client(settings=db_settings)
    for read in (client.catalog, client.stations, lambda: client.features("precipitation")):
        with pytest.raises(SchemaMissingError) as err:
            read()
        assert err.value.database == _shown(db_settings.database_url)
        assert err.value.revision is None


def test_older_revision_is_named(db_settings: Settings) -> None:
    """A database stopped at an older shipped revision: the reader names both revisions."""
    engine = db.get_engine(db_settings.database_url)
    db.ensure_schema(engine)
    assert db.downgrade_schema(engine, "0001_initial") == "0001_initial"  # every later migration undone
    with pytest.raises(SchemaMissingError) as err:  # the sun product's table came with 0005
        Client(settings=db_settings).features("sun")
    assert str(err.value) == (
        f"the curated database {_shown(db_settings.database_url)} is at schema revision 0001_initial, older "
        f"than this version's {db.head_revision()} — run `weatherinsight db upgrade` with the same "
        "WEATHERINSIGHT_DATABASE_URL"
    )


def test_api_answers_503_schema_missing(db_settings: Settings, data_dir: Path) -> None:
    _empty(db_settings)
    settings = _make_settings(data_dir, db_settings.database_url)
    with (
        ServerThread(create_app(settings)) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        for path in (
            "/v1/catalog",
            "/v1/stations",
            "/v1/features/wind",
            "/v1/features/wind/2024/1",
            "/v1/stations/44/features?products=wind",
            "/v1/datasets",
        ):
            r = http.get(path)
            assert r.status_code == 503, (path, r.text)
            assert "retry-after" not in r.headers  # retrying cannot help; migrating does
            assert r.json()["error"] == "schema_missing"
            assert r.json()["message"] == (
                "the curated database has no WeatherInsight schema yet; the operator must run "
                "`weatherinsight db upgrade`"
            )
        health = http.get("/v1/health")
        assert (health.status_code, health.json()["database"]) == (503, "schema_missing")
        with pytest.raises(QueryError) as err:  # the HTTP client passes the API's message on
            Client(server.url).catalog()
        assert str(err.value) == (
            f"{server.url}/v1/catalog: HTTP 503: the curated database has no WeatherInsight schema yet; "
            "the operator must run `weatherinsight db upgrade`"
        )


def test_db_downgrade_goes_back_to_a_shipped_revision_and_refuses_what_it_cannot(
    db_settings: Settings,
) -> None:
    url, head = db_settings.database_url, db.head_revision()
    previous = sorted(db._revision_graph()[0])[-2]
    assert _run(db_settings, "db", "upgrade").returncode == 0
    down = _run(db_settings, "db", "downgrade", previous)
    assert (down.returncode, down.stdout) == (0, f"{_shown(url)} is at schema revision {previous}\n"), (
        down.stderr
    )
    assert db.current_revision(url) == previous
    again = _run(db_settings, "db", "downgrade", previous)
    assert again.returncode == 2
    assert again.stderr == (
        f"error: the database is at schema revision {previous}, not above {previous}: nothing to downgrade — "
        "`weatherinsight db upgrade` brings it to this version's newest revision\n"
    )
    unknown = _run(db_settings, "db", "downgrade", "0042_nope")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith(
        "error: unknown schema revision '0042_nope' — one of: base, 0001_initial, "
    )
    assert db.current_revision(url) == previous  # the refusals changed nothing
    up = _run(db_settings, "db", "upgrade")
    assert (up.returncode, up.stdout) == (0, f"{_shown(url)} is at schema revision {head}\n")
