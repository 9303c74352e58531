"""Issue #19: what dating a raw file needs, kept on its ``raw_files`` row — the produkt member's name and the
first and last day it names — so publishing raw versions (and a no-op re-run) never opens a stored zip.

Revision ID: 0008_raw_member_range
Revises: 0007_climate_normals
Create Date: 2026-12-06

Rows stored before this revision keep NULLs; ``ingest.dating`` reads those zips' directories as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_raw_member_range"
down_revision = "0007_climate_normals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("raw_files") as batch:
        batch.add_column(sa.Column("member_name", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("member_first_day", sa.Date(), nullable=True))
        batch.add_column(sa.Column("member_last_day", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("raw_files") as batch:
        batch.drop_column("member_last_day")
        batch.drop_column("member_first_day")
        batch.drop_column("member_name")
