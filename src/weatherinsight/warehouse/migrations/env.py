"""Alembic environment: runs migrations on the connection that ``warehouse.db.ensure_schema`` hands over.

There is no alembic.ini; ``db.alembic_config`` builds the Config in code and passes the open connection in
``config.attributes["connection"]``. Offline (SQL script) mode is not supported.
"""

from __future__ import annotations

from alembic import context

from weatherinsight.warehouse.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable through a hand-written alembic.ini
    raise RuntimeError("run migrations through weatherinsight.warehouse.db.ensure_schema()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things in place
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
