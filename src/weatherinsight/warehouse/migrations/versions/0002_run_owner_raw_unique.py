"""Issue #14: the owner (host, pid) of an ingestion run, and one ``current`` raw_files row per file.

Revision ID: 0002_run_owner_raw_unique
Revises: 0001_initial
Create Date: 2026-12-06

Before the unique index is created, duplicated ``current`` rows that concurrent runs left (same product,
period and file name) are reduced to the newest one; the older ones become ``superseded`` (nothing deleted).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_run_owner_raw_unique"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Never a table rebuild for ingestion_runs on SQLite (see downgrade): ADD COLUMN keeps the table.
    with op.batch_alter_table("ingestion_runs", recreate="never") as batch:
        batch.add_column(sa.Column("host", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE raw_files SET status = 'superseded' WHERE status = 'current' AND id NOT IN ("
        " SELECT max_id FROM (SELECT max(id) AS max_id FROM raw_files WHERE status = 'current'"
        " GROUP BY product, period, file_name) AS newest)"
    )
    op.create_index(
        "uq_raw_files_current",
        "raw_files",
        ["product", "period", "file_name"],
        unique=True,
        sqlite_where=sa.text("status = 'current'"),
        postgresql_where=sa.text("status = 'current'"),
    )


def downgrade() -> None:
    op.drop_index("uq_raw_files_current", table_name="raw_files")
    # Batch mode would rebuild ingestion_runs on SQLite (copy, DROP TABLE, rename) to drop a column, and the
    # DROP fails the foreign key of any raw_files row referencing a run. SQLite's ALTER TABLE DROP COLUMN
    # (3.35+) keeps the table (as migration 0009 does).
    with op.batch_alter_table("ingestion_runs", recreate="never") as batch:
        batch.drop_column("pid")
        batch.drop_column("host")
