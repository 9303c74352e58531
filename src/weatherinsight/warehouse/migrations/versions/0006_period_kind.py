"""Issue #18: months, seasons and years beside quarters — ``period_kind`` on dataset versions and curated tables.

Revision ID: 0006_period_kind
Revises: 0005_sun_cloudiness_tables
Create Date: 2026-12-06

Every existing row is a quarter (server default ``'quarter'``). The one-AVAILABLE-version index gains the
period kind, so a month and a quarter with the same number (``2024-01`` and ``2024Q1``) each have their own
published version. The curated tables are the seven of the product registry at this revision, spelled out.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_period_kind"
down_revision = "0005_sun_cloudiness_tables"
branch_labels = None
depends_on = None

CURATED_TABLES = (
    "quarterly_temperature_features",
    "quarterly_precipitation_features",
    "quarterly_wind_features",
    "quarterly_pressure_features",
    "quarterly_moisture_features",
    "quarterly_sun_features",
    "quarterly_cloudiness_features",
)
_AVAILABLE = sa.text("status = 'AVAILABLE'")


def _column() -> sa.Column[str]:
    return sa.Column("period_kind", sa.String(length=8), server_default=sa.text("'quarter'"), nullable=False)


def upgrade() -> None:
    op.drop_index(
        "uq_dataset_versions_one_available",
        table_name="dataset_versions",
        sqlite_where=_AVAILABLE,
        postgresql_where=_AVAILABLE,
    )
    with op.batch_alter_table("dataset_versions") as batch:
        batch.add_column(_column())
    op.create_index(
        "uq_dataset_versions_one_available",
        "dataset_versions",
        ["kind", "product", "period_kind", "year", "quarter"],
        unique=True,
        sqlite_where=_AVAILABLE,
        postgresql_where=_AVAILABLE,
    )
    for name in CURATED_TABLES:
        with op.batch_alter_table(name) as batch:
            batch.add_column(_column())


def downgrade() -> None:
    for name in CURATED_TABLES:
        with op.batch_alter_table(name) as batch:
            batch.drop_column("period_kind")
    op.execute("DELETE FROM dataset_versions WHERE period_kind <> 'quarter'")
    op.drop_index(
        "uq_dataset_versions_one_available",
        table_name="dataset_versions",
        sqlite_where=_AVAILABLE,
        postgresql_where=_AVAILABLE,
    )
    with op.batch_alter_table("dataset_versions") as batch:
        batch.drop_column("period_kind")
    op.create_index(
        "uq_dataset_versions_one_available",
        "dataset_versions",
        ["kind", "product", "year", "quarter"],
        unique=True,
        sqlite_where=_AVAILABLE,
        postgresql_where=_AVAILABLE,
    )
