"""Issue #18: climate normals — the ``climate_normals`` table (versions of kind ``normal`` in dataset_versions).

Revision ID: 0007_climate_normals
Revises: 0006_period_kind
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_climate_normals"
down_revision = "0006_period_kind"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "climate_normals",
        sa.Column("product", sa.String(length=64), nullable=False),
        sa.Column("dataset_version", sa.String(length=128), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("period_kind", sa.String(length=8), nullable=False),
        sa.Column("period_number", sa.Integer(), nullable=False),
        sa.Column("feature", sa.String(length=64), nullable=False),
        sa.Column("base_start", sa.Integer(), nullable=False),
        sa.Column("base_end", sa.Integer(), nullable=False),
        sa.Column("normal", sa.Float(), nullable=True),
        sa.Column("years", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "product",
            "dataset_version",
            "station_id",
            "period_kind",
            "period_number",
            "feature",
            name=op.f("pk_climate_normals"),
        ),
    )


def downgrade() -> None:
    op.drop_table("climate_normals")
    op.execute("DELETE FROM dataset_versions WHERE kind = 'normal'")
