"""Every migration's downgrade on a POPULATED database (SQLite and PostgreSQL): an ingestion run, a raw file
row referencing it and a quarter's dataset version survive each step down to the initial revision and back
up to head; down to base and up again leaves an empty schema at head.

A table rebuild (Alembic batch mode on SQLite) of ``ingestion_runs`` fails here: dropping the old table
while a ``raw_files`` row references it breaks the foreign key (migration 0002's downgrade did).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from weatherinsight.warehouse import db, tables

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
INITIAL = "0001_initial"
#: The columns every revision has, and the values the test writes into them.
RUN = {"id": 7, "product": "wind", "period": "recent", "status": "succeeded", "files_new": 1}
RAW = {
    "id": 11,
    "url": "http://mirror/wind/recent/stundenwerte_FF_00044_akt.zip",
    "product": "wind",
    "period": "recent",
    "file_name": "stundenwerte_FF_00044_akt.zip",
    "station_id": 44,
    "size": 1234,
    "sha256": "ab" * 32,
    "ingestion_run_id": 7,
    "status": "current",
}
VERSION = {"id": 3, "version_name": "2025Q4_raw_v1", "kind": "raw", "product": "wind", "status": "AVAILABLE"}


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    db.ensure_schema(db_url)
    yield db.get_engine(db_url)
    db.dispose_engines()


def _revisions_down_from_head() -> list[str]:
    """Head first, ending with the initial revision."""
    script = ScriptDirectory.from_config(db.alembic_config())
    return [s.revision for s in script.walk_revisions()]


def _populate(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ingestion_runs (id, product, period, started_at, status, files_new, host, pid)"
                " VALUES (:id, :product, :period, :t, :status, :files_new, 'h', 42)"
            ),
            {**RUN, "t": T0},
        )
        conn.execute(
            text(
                "INSERT INTO raw_files (id, url, product, period, file_name, station_id, size, sha256,"
                " fetched_at, ingestion_run_id, status, member_name, listed_size)"
                " VALUES (:id, :url, :product, :period, :file_name, :station_id, :size, :sha256, :t,"
                " :ingestion_run_id, :status, 'produkt_ff_stunde_20240101_20251231_00044.txt', 1234)"
            ),
            {**RAW, "t": T0},
        )
        conn.execute(
            text(
                "INSERT INTO dataset_versions (id, version_name, version_number, kind, product, year, quarter,"
                " status, parent_versions, created_at, updated_at)"
                " VALUES (:id, :version_name, 1, :kind, :product, 2025, 4, :status, '[]', :t, :t)"
            ),
            {**VERSION, "t": T0},
        )


def _rows(engine: Engine) -> tuple[dict[str, object], dict[str, object], dict[str, object]]:
    with engine.connect() as conn:
        run = conn.execute(text(f"SELECT {', '.join(RUN)} FROM ingestion_runs")).mappings().one()
        raw = conn.execute(text(f"SELECT {', '.join(RAW)} FROM raw_files")).mappings().one()
        version = conn.execute(text(f"SELECT {', '.join(VERSION)} FROM dataset_versions")).mappings().one()
    return dict(run), dict(raw), dict(version)


def _move(engine: Engine, target: str, *, down: bool) -> None:
    with engine.connect() as conn:
        (command.downgrade if down else command.upgrade)(db.alembic_config(conn), target)
        conn.commit()


def _assert_schema_is_heads(engine: Engine) -> None:
    """The round trip left the schema a fresh database at head has: no difference from the metadata, the
    foreign key enforced, and one ``current`` row per file (the partial unique index kept its WHERE)."""
    with engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        assert list(compare_metadata(mc, tables.metadata)) == []
    second = {**RAW, "id": 12, "t": T0}
    insert = text(
        "INSERT INTO raw_files (id, url, product, period, file_name, fetched_at, ingestion_run_id, status)"
        " VALUES (:id, :url, :product, :period, :file_name, :t, :ingestion_run_id, :status)"
    )
    for bad in ({**second, "ingestion_run_id": 999}, second):  # no such run; a second current row
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert, bad)
    with engine.begin() as conn:
        conn.execute(insert, {**second, "status": "superseded"})


def test_every_downgrade_keeps_the_rows_and_upgrades_again(engine: Engine) -> None:
    revisions = _revisions_down_from_head()
    assert revisions[0] == db.head_revision() and revisions[-1] == INITIAL  # every revision, newest first
    _populate(engine)
    for target in revisions[1:]:
        _move(engine, target, down=True)
        assert db.current_revision(engine) == target
        assert _rows(engine) == (RUN, RAW, VERSION), target
    columns = {c["name"] for c in inspect(engine).get_columns("ingestion_runs")}
    assert {"host", "pid", "files_quick_checked"} & columns == set()  # really at 0001

    _move(engine, "head", down=False)
    assert db.current_revision(engine) == db.head_revision()
    assert _rows(engine) == (RUN, RAW, VERSION)
    with engine.connect() as conn:
        added = conn.execute(
            text(
                "SELECT r.host, r.pid, r.files_quick_checked, f.member_name, f.listed_size"
                " FROM ingestion_runs r JOIN raw_files f ON f.ingestion_run_id = r.id"
            )
        ).one()
    # columns added by a later revision come back empty (or at their default): the downgrade dropped them
    assert tuple(added) == (None, None, 0, None, None)
    _assert_schema_is_heads(engine)

    _move(engine, "base", down=True)
    assert db.current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    _move(engine, "head", down=False)
    assert db.current_revision(engine) == db.head_revision()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM raw_files")).scalar_one() == 0
