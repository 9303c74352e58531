"""Issue #19: the quick check of a no-op ingest — what the directory listing showed for a stored file (its size
and modified minute) when a GET fetched or re-validated it, and when that GET was sent, kept on its
``raw_files`` row; and how many files of a run were found unchanged by that check alone
(``ingestion_runs.files_quick_checked``, a part of ``files_unchanged``).

Revision ID: 0009_raw_listing_quick_check
Revises: 0008_raw_member_range
Create Date: 2026-12-06

Rows stored before this revision keep NULLs: their file is re-validated by a conditional GET once, which
records the values.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_raw_listing_quick_check"
down_revision = "0008_raw_member_range"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("raw_files") as batch:
        batch.add_column(sa.Column("listed_size", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("listed_modified", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("validated_at", sa.DateTime(timezone=True), nullable=True))
    # Never a table rebuild for ingestion_runs (a server default that is SQL would make Alembic rebuild it on
    # SQLite): dropping the old table while raw_files rows reference it fails their foreign key. SQLite's
    # ALTER TABLE ADD COLUMN / DROP COLUMN (3.35+) keep the table.
    with op.batch_alter_table("ingestion_runs", recreate="never") as batch:
        batch.add_column(
            sa.Column("files_quick_checked", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("ingestion_runs", recreate="never") as batch:  # as in upgrade
        batch.drop_column("files_quick_checked")
    with op.batch_alter_table("raw_files") as batch:
        batch.drop_column("validated_at")
        batch.drop_column("listed_modified")
        batch.drop_column("listed_size")
