"""The data-quality sweep's bookkeeping: which published state of a quarter has been checked.

Revision ID: 0003_quality_checked_quarters
Revises: 0002_run_owner_raw_unique
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_quality_checked_quarters"
down_revision = "0002_run_owner_raw_unique"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quality_checked_quarters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("versions", sa.String(length=1024), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_checked_quarters")),
        sa.UniqueConstraint(
            "year", "quarter", "versions", name=op.f("uq_quality_checked_quarters_year_quarter_versions")
        ),
    )


def downgrade() -> None:
    op.drop_table("quality_checked_quarters")
