"""Which source each row's day-based features used: DWD's daily KL values, hourly readings, or both (#17).

Revision ID: 0004_day_sources
Revises: 0003_quality_checked_quarters
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_day_sources"
down_revision = "0003_quality_checked_quarters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "quarterly_temperature_features", sa.Column("tx_tn_source", sa.String(length=32), nullable=True)
    )
    op.add_column(
        "quarterly_precipitation_features", sa.Column("rr_source", sa.String(length=32), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("quarterly_precipitation_features", "rr_source")
    op.drop_column("quarterly_temperature_features", "tx_tn_source")
