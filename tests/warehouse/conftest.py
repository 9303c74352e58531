"""Warehouse test setup: every test gets a migrated database (SQLite and PostgreSQL) and closes its engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from weatherinsight.warehouse import db


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database, parametrised over SQLite and PostgreSQL."""
    db.ensure_schema(db_url)
    yield db.get_engine(db_url)
    db.dispose_engines()
