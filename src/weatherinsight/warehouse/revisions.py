"""Generating Alembic migrations from the schema in code (``warehouse.tables.metadata``).

The curated tables are built from the product registry and the feature catalog, so a new product changes
``metadata`` without anyone writing DDL. ``generate_revision`` turns that change into a migration file:
it migrates a scratch SQLite database to the newest shipped revision, then lets Alembic autogenerate
compare it with ``metadata`` and write ``migrations/versions/<rev_id>.py``. ``weatherinsight db revision``
runs it; ``tests/warehouse`` fails while ``metadata`` and the migrations differ, so the file must be
generated (and committed) before a new product ships.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory

from weatherinsight.errors import WeatherInsightError
from weatherinsight.warehouse.db import MIGRATIONS_DIR, alembic_config, get_engine, head_revision
from weatherinsight.warehouse.tables import curated_tables


class RevisionError(WeatherInsightError):
    """A migration could not be generated (nothing changed, or the revision id is taken)."""


def generate_revision(message: str, rev_id: str, *, versions_dir: Path | None = None) -> Path:
    """Write the migration that brings the newest shipped revision to ``metadata``; returns its path.

    ``versions_dir`` writes it elsewhere than the package's ``migrations/versions`` (tests)."""
    curated_tables()  # every registered product's table is in ``metadata`` before the comparison
    script = ScriptDirectory.from_config(alembic_config())
    if rev_id in {r.revision for r in script.walk_revisions()}:
        raise RevisionError(f"revision {rev_id!r} exists already", hint="choose another --rev-id")
    with tempfile.TemporaryDirectory() as tmp:
        engine = get_engine(f"sqlite:///{tmp}/scratch.sqlite")
        with engine.connect() as conn:
            command.upgrade(alembic_config(conn), "head")
            conn.commit()
            run_cfg = alembic_config(conn)
            run_cfg.set_main_option("file_template", "%%(rev)s")  # versions/<rev_id>.py, like the others
            if versions_dir is not None:  # the shipped revisions stay visible: the new one revises their head
                shipped = MIGRATIONS_DIR / "versions"
                run_cfg.set_main_option(
                    "version_locations", os.pathsep.join([str(shipped), str(versions_dir)])
                )
            made = command.revision(
                run_cfg,
                message=message,
                autogenerate=True,
                rev_id=rev_id,
                head=head_revision(),
                version_path=str(versions_dir) if versions_dir is not None else None,
            )
        engine.dispose()
    scripts = made if isinstance(made, list) else [made]
    if not scripts or scripts[0] is None:
        raise RevisionError("Alembic wrote no revision")
    path = Path(scripts[0].path)
    if "op." not in path.read_text(encoding="utf-8").split("def upgrade", 1)[1].split("def downgrade", 1)[0]:
        path.unlink()
        raise RevisionError(
            "the schema in code equals the newest migration: nothing to generate",
            hint="register the product (registry entry, catalog rows, definition) first",
        )
    _format(path)
    return path


def _format(path: Path) -> None:
    """Autogenerate writes its own layout; ruff (a dev dependency) makes it the house format."""
    ruff = shutil.which("ruff")
    if ruff is not None:
        subprocess.run([ruff, "format", "--quiet", str(path)], check=False)
