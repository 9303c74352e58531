"""Issue #19: ``ensure_schema`` runs Alembic only for a database behind head — a fresh one migrates, one at
head runs no migration (and never imports Alembic), one a revision behind upgrades (SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from weatherinsight.warehouse import db

PREVIOUS = "0008_raw_member_range"
LISTING_COLUMNS = {"listed_size", "listed_modified", "validated_at"}


@pytest.fixture
def upgrades(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The targets of every ``alembic upgrade`` ensure_schema runs (the real upgrade still runs)."""
    seen: list[str] = []
    real = command.upgrade

    def counting(config: Any, revision: str, **kwargs: Any) -> None:
        seen.append(revision)
        real(config, revision, **kwargs)

    monkeypatch.setattr(command, "upgrade", counting)
    yield seen
    db.dispose_engines()


def _raw_file_columns(url: str) -> set[str]:
    return {c["name"] for c in inspect(db.get_engine(url)).get_columns("raw_files")}


def test_head_read_from_the_scripts_is_alembics_head() -> None:
    assert db.head_revision() == ScriptDirectory.from_config(db.alembic_config()).get_current_head()
    assert db.head_revision() == "0009_raw_listing_quick_check"


def test_fresh_at_head_and_one_behind(db_url: str, upgrades: list[str]) -> None:
    assert db.current_revision(db_url) is None
    db.ensure_schema(db_url)
    assert (upgrades, db.current_revision(db_url)) == (["head"], db.head_revision())
    db.ensure_schema(db_url)
    db.ensure_schema(db.get_engine(db_url))
    assert upgrades == ["head"]  # at head: no migration ran

    with db.get_engine(db_url).connect() as conn:
        command.downgrade(db.alembic_config(conn), PREVIOUS)
        conn.commit()
    assert db.current_revision(db_url) == PREVIOUS
    assert _raw_file_columns(db_url) & LISTING_COLUMNS == set()
    db.ensure_schema(db_url)
    assert (upgrades, db.current_revision(db_url)) == (["head", "head"], db.head_revision())
    assert _raw_file_columns(db_url) >= LISTING_COLUMNS


def test_a_process_at_head_never_imports_alembic(db_url: str) -> None:
    db.ensure_schema(db_url)
    db.dispose_engines()
    probe = (
        "import sys; from weatherinsight.warehouse import db; "
        f"db.ensure_schema({db_url!r}); print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
