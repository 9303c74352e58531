"""CLI verb group ``db``: the curated database's schema.

* ``weatherinsight db upgrade`` — bring the database of ``WEATHERINSIGHT_DATABASE_URL`` to the newest schema
  (what every writer does before it works; the read verbs ``features`` and ``stations`` and the API do not, and
  name this verb when they find a database that was never migrated).
* ``weatherinsight db downgrade 0008_raw_member_range`` — run the ``downgrade()`` of every migration above that
  revision (``base``: all of them), for a rollback to a release whose newest revision it is; back up first.
* ``weatherinsight db revision --rev-id 0005_my_product --message "…"`` — generate the Alembic migration that
  brings the newest shipped revision to the schema in code (a new product's curated table), formatted.
"""

from __future__ import annotations

from typing import Annotated

import typer

from weatherinsight.cli._common import console, settings_from_env

app = typer.Typer(help="the curated database's schema", no_args_is_help=True)


@app.command("revision")
def revision(
    rev_id: Annotated[str, typer.Option("--rev-id", help="revision id and file name, e.g. 0005_sun_tables")],
    message: Annotated[str, typer.Option("--message", "-m", help="what the migration does")],
) -> None:
    """Generate a migration from warehouse.tables.metadata (Alembic autogenerate)."""
    from weatherinsight.warehouse.revisions import generate_revision  # Alembic: only when it runs

    path = generate_revision(message, rev_id)
    console.print(f"wrote {path}")


@app.command("upgrade")
def upgrade() -> None:
    """Migrate the curated database (WEATHERINSIGHT_DATABASE_URL) to the newest schema; safe to run again."""
    from weatherinsight.warehouse.db import current_revision, ensure_schema, get_engine

    settings = settings_from_env()
    engine = get_engine(settings.database_url)
    ensure_schema(engine)
    where = engine.url.render_as_string(hide_password=True)
    console.print(f"{where} is at schema revision {current_revision(engine)}", soft_wrap=True)


@app.command("downgrade")
def downgrade(
    revision: Annotated[
        str, typer.Argument(help="the shipped revision to go back to, e.g. 0008_raw_member_range, or base")
    ],
) -> None:
    """Migrate the curated database (WEATHERINSIGHT_DATABASE_URL) back to REVISION: back it up first."""
    from weatherinsight.warehouse.db import downgrade_schema, get_engine

    settings = settings_from_env()
    engine = get_engine(settings.database_url)
    after = downgrade_schema(engine, revision)
    where = engine.url.render_as_string(hide_password=True)
    console.print(f"{where} is at schema revision {after or 'none (base)'}", soft_wrap=True)
