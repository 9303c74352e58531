"""Initial schema: bookkeeping tables and the five curated feature tables (static, every column written out).

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-25

Written out in full on purpose: a migration must not change when the catalog changes. A later catalog or
registry change needs a new revision; ``tests/warehouse/test_schema.py`` fails until one exists.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("version_name", sa.String(length=128), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("product", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.Column("parent_versions", sa.JSON(), nullable=False),
        sa.Column("input_fingerprint", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_versions")),
        sa.UniqueConstraint(
            "kind", "product", "version_name", name=op.f("uq_dataset_versions_kind_product_version_name")
        ),
    )
    op.create_index(
        op.f("ix_dataset_versions_kind_product_year_quarter_status"),
        "dataset_versions",
        ["kind", "product", "year", "quarter", "status"],
        unique=False,
    )
    op.create_index(
        "uq_dataset_versions_one_available",
        "dataset_versions",
        ["kind", "product", "year", "quarter"],
        unique=True,
        sqlite_where=sa.text("status = 'AVAILABLE'"),
        postgresql_where=sa.text("status = 'AVAILABLE'"),
    )
    op.create_table(
        "feature_catalog",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("product", sa.String(length=64), nullable=False),
        sa.Column("variable", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("standard", sa.String(length=128), nullable=False),
        sa.Column("sql_type", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_feature_catalog")),
    )
    op.create_table(
        "ingestion_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("product", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("files_listed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("files_new", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("files_changed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("files_unchanged", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("files_failed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("bytes_downloaded", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("error_summary", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingestion_runs")),
    )
    op.create_index(
        op.f("ix_ingestion_runs_product_started_at"),
        "ingestion_runs",
        ["product", "started_at"],
        unique=False,
    )
    op.create_table(
        "quality_check_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=64), nullable=True),
        sa.Column("table_name", sa.String(length=128), nullable=True),
        sa.Column("check_name", sa.String(length=64), nullable=False),
        sa.Column("column_name", sa.String(length=64), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("measured_value", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_check_results")),
    )
    op.create_index(
        op.f("ix_quality_check_results_run_id"), "quality_check_results", ["run_id"], unique=False
    )
    op.create_index(
        op.f("ix_quality_check_results_year_quarter_product"),
        "quality_check_results",
        ["year", "quarter", "product"],
        unique=False,
    )
    op.create_table(
        "quarterly_moisture_features",
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("dataset_version", sa.String(length=128), nullable=False),
        sa.Column("hours_expected", sa.Integer(), nullable=True),
        sa.Column("hours_valid", sa.Integer(), nullable=True),
        sa.Column("days_valid", sa.Integer(), nullable=True),
        sa.Column("coverage", sa.Float(), nullable=True),
        sa.Column("qn_min", sa.Integer(), nullable=True),
        sa.Column("qn_max", sa.Integer(), nullable=True),
        sa.Column("share_recent", sa.Float(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rh_mean", sa.Float(), nullable=True),
        sa.Column("rh_daily_min_mean", sa.Float(), nullable=True),
        sa.Column("dewpoint_mean", sa.Float(), nullable=True),
        sa.Column("vapour_pressure_mean", sa.Float(), nullable=True),
        sa.Column("abs_humidity_mean", sa.Float(), nullable=True),
        sa.Column("wet_bulb_max", sa.Float(), nullable=True),
        sa.Column("dewpoint_depression_mean", sa.Float(), nullable=True),
        sa.Column("humid_hours", sa.Integer(), nullable=True),
        sa.Column("dry_hours", sa.Integer(), nullable=True),
        sa.Column("muggy_hours", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint(
            "station_id", "year", "quarter", "dataset_version", name=op.f("pk_quarterly_moisture_features")
        ),
    )
    op.create_index(
        "ix_quarterly_moisture_features_quarter",
        "quarterly_moisture_features",
        ["year", "quarter", "dataset_version", "station_id"],
        unique=False,
    )
    op.create_table(
        "quarterly_precipitation_features",
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("dataset_version", sa.String(length=128), nullable=False),
        sa.Column("hours_expected", sa.Integer(), nullable=True),
        sa.Column("hours_valid", sa.Integer(), nullable=True),
        sa.Column("days_valid", sa.Integer(), nullable=True),
        sa.Column("coverage", sa.Float(), nullable=True),
        sa.Column("qn_min", sa.Integer(), nullable=True),
        sa.Column("qn_max", sa.Integer(), nullable=True),
        sa.Column("share_recent", sa.Float(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("precip_total", sa.Float(), nullable=True),
        sa.Column("wet_days", sa.Integer(), nullable=True),
        sa.Column("heavy_precip_days", sa.Integer(), nullable=True),
        sa.Column("very_heavy_precip_days", sa.Integer(), nullable=True),
        sa.Column("rx1day", sa.Float(), nullable=True),
        sa.Column("rx5day", sa.Float(), nullable=True),
        sa.Column("sdii", sa.Float(), nullable=True),
        sa.Column("max_dry_spell_days", sa.Integer(), nullable=True),
        sa.Column("max_wet_spell_days", sa.Integer(), nullable=True),
        sa.Column("rx1hour", sa.Float(), nullable=True),
        sa.Column("precip_hours", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint(
            "station_id",
            "year",
            "quarter",
            "dataset_version",
            name=op.f("pk_quarterly_precipitation_features"),
        ),
    )
    op.create_index(
        "ix_quarterly_precipitation_features_quarter",
        "quarterly_precipitation_features",
        ["year", "quarter", "dataset_version", "station_id"],
        unique=False,
    )
    op.create_table(
        "quarterly_pressure_features",
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("dataset_version", sa.String(length=128), nullable=False),
        sa.Column("hours_expected", sa.Integer(), nullable=True),
        sa.Column("hours_valid", sa.Integer(), nullable=True),
        sa.Column("days_valid", sa.Integer(), nullable=True),
        sa.Column("coverage", sa.Float(), nullable=True),
        sa.Column("qn_min", sa.Integer(), nullable=True),
        sa.Column("qn_max", sa.Integer(), nullable=True),
        sa.Column("share_recent", sa.Float(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pmsl_mean", sa.Float(), nullable=True),
        sa.Column("pmsl_min", sa.Float(), nullable=True),
        sa.Column("pmsl_max", sa.Float(), nullable=True),
        sa.Column("pmsl_std", sa.Float(), nullable=True),
        sa.Column("p_station_mean", sa.Float(), nullable=True),
        sa.Column("pmsl_daily_range_mean", sa.Float(), nullable=True),
        sa.Column("pmsl_max_drop_24h", sa.Float(), nullable=True),
        sa.Column("low_pressure_hours", sa.Integer(), nullable=True),
        sa.Column("high_pressure_hours", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint(
            "station_id", "year", "quarter", "dataset_version", name=op.f("pk_quarterly_pressure_features")
        ),
    )
    op.create_index(
        "ix_quarterly_pressure_features_quarter",
        "quarterly_pressure_features",
        ["year", "quarter", "dataset_version", "station_id"],
        unique=False,
    )
    op.create_table(
        "quarterly_temperature_features",
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("dataset_version", sa.String(length=128), nullable=False),
        sa.Column("hours_expected", sa.Integer(), nullable=True),
        sa.Column("hours_valid", sa.Integer(), nullable=True),
        sa.Column("days_valid", sa.Integer(), nullable=True),
        sa.Column("coverage", sa.Float(), nullable=True),
        sa.Column("qn_min", sa.Integer(), nullable=True),
        sa.Column("qn_max", sa.Integer(), nullable=True),
        sa.Column("share_recent", sa.Float(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tg_mean", sa.Float(), nullable=True),
        sa.Column("tx_mean", sa.Float(), nullable=True),
        sa.Column("tn_mean", sa.Float(), nullable=True),
        sa.Column("txx", sa.Float(), nullable=True),
        sa.Column("tnn", sa.Float(), nullable=True),
        sa.Column("dtr_mean", sa.Float(), nullable=True),
        sa.Column("frost_days", sa.Integer(), nullable=True),
        sa.Column("ice_days", sa.Integer(), nullable=True),
        sa.Column("summer_days", sa.Integer(), nullable=True),
        sa.Column("hot_days", sa.Integer(), nullable=True),
        sa.Column("tropical_nights", sa.Integer(), nullable=True),
        sa.Column("heating_degree_days", sa.Float(), nullable=True),
        sa.Column("cooling_degree_days", sa.Float(), nullable=True),
        sa.Column("growing_degree_days", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint(
            "station_id", "year", "quarter", "dataset_version", name=op.f("pk_quarterly_temperature_features")
        ),
    )
    op.create_index(
        "ix_quarterly_temperature_features_quarter",
        "quarterly_temperature_features",
        ["year", "quarter", "dataset_version", "station_id"],
        unique=False,
    )
    op.create_table(
        "quarterly_wind_features",
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("dataset_version", sa.String(length=128), nullable=False),
        sa.Column("hours_expected", sa.Integer(), nullable=True),
        sa.Column("hours_valid", sa.Integer(), nullable=True),
        sa.Column("days_valid", sa.Integer(), nullable=True),
        sa.Column("coverage", sa.Float(), nullable=True),
        sa.Column("qn_min", sa.Integer(), nullable=True),
        sa.Column("qn_max", sa.Integer(), nullable=True),
        sa.Column("share_recent", sa.Float(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("wind_speed_mean", sa.Float(), nullable=True),
        sa.Column("wind_speed_p90", sa.Float(), nullable=True),
        sa.Column("wind_speed_max", sa.Float(), nullable=True),
        sa.Column("calm_hours", sa.Integer(), nullable=True),
        sa.Column("windy_days", sa.Integer(), nullable=True),
        sa.Column("wind_dir_mean", sa.Float(), nullable=True),
        sa.Column("wind_dir_steadiness", sa.Float(), nullable=True),
        sa.Column("dominant_sector", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint(
            "station_id", "year", "quarter", "dataset_version", name=op.f("pk_quarterly_wind_features")
        ),
    )
    op.create_index(
        "ix_quarterly_wind_features_quarter",
        "quarterly_wind_features",
        ["year", "quarter", "dataset_version", "station_id"],
        unique=False,
    )
    op.create_table(
        "staged_partitions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("product", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=True),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staged_partitions")),
        sa.UniqueConstraint(
            "product",
            "year",
            "quarter",
            "version",
            name=op.f("uq_staged_partitions_product_year_quarter_version"),
        ),
    )
    op.create_table(
        "station_locations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("height_m", sa.Float(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("source_file", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_locations")),
        sa.UniqueConstraint(
            "station_id", "valid_from", name=op.f("uq_station_locations_station_id_valid_from")
        ),
    )
    op.create_table(
        "station_metadata",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("product", sa.String(length=64), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=128), nullable=True),
        sa.Column("height", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("source_file", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_station_metadata")),
        sa.UniqueConstraint("product", "station_id", name=op.f("uq_station_metadata_product_station_id")),
    )
    op.create_index(op.f("ix_station_metadata_station_id"), "station_metadata", ["station_id"], unique=False)
    op.create_table(
        "raw_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("product", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("etag", sa.String(length=255), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("storage_path", sa.Text(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ingestion_run_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=32), server_default=sa.text("'current'"), nullable=False),
        sa.Column("quarantine_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ingestion_run_id"],
            ["ingestion_runs.id"],
            name=op.f("fk_raw_files_ingestion_run_id_ingestion_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raw_files")),
    )
    op.create_index(op.f("ix_raw_files_ingestion_run_id"), "raw_files", ["ingestion_run_id"], unique=False)
    op.create_index(
        op.f("ix_raw_files_product_period_file_name"),
        "raw_files",
        ["product", "period", "file_name"],
        unique=False,
    )
    op.create_index(
        op.f("ix_raw_files_product_station_id"), "raw_files", ["product", "station_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_raw_files_product_station_id"), table_name="raw_files")
    op.drop_index(op.f("ix_raw_files_product_period_file_name"), table_name="raw_files")
    op.drop_index(op.f("ix_raw_files_ingestion_run_id"), table_name="raw_files")
    op.drop_table("raw_files")
    op.drop_index(op.f("ix_station_metadata_station_id"), table_name="station_metadata")
    op.drop_table("station_metadata")
    op.drop_table("station_locations")
    op.drop_table("staged_partitions")
    op.drop_index("ix_quarterly_wind_features_quarter", table_name="quarterly_wind_features")
    op.drop_table("quarterly_wind_features")
    op.drop_index("ix_quarterly_temperature_features_quarter", table_name="quarterly_temperature_features")
    op.drop_table("quarterly_temperature_features")
    op.drop_index("ix_quarterly_pressure_features_quarter", table_name="quarterly_pressure_features")
    op.drop_table("quarterly_pressure_features")
    op.drop_index(
        "ix_quarterly_precipitation_features_quarter", table_name="quarterly_precipitation_features"
    )
    op.drop_table("quarterly_precipitation_features")
    op.drop_index("ix_quarterly_moisture_features_quarter", table_name="quarterly_moisture_features")
    op.drop_table("quarterly_moisture_features")
    op.drop_index(op.f("ix_quality_check_results_year_quarter_product"), table_name="quality_check_results")
    op.drop_index(op.f("ix_quality_check_results_run_id"), table_name="quality_check_results")
    op.drop_table("quality_check_results")
    op.drop_index(op.f("ix_ingestion_runs_product_started_at"), table_name="ingestion_runs")
    op.drop_table("ingestion_runs")
    op.drop_table("feature_catalog")
    op.drop_index(
        "uq_dataset_versions_one_available",
        table_name="dataset_versions",
        sqlite_where=sa.text("status = 'AVAILABLE'"),
        postgresql_where=sa.text("status = 'AVAILABLE'"),
    )
    op.drop_index(op.f("ix_dataset_versions_kind_product_year_quarter_status"), table_name="dataset_versions")
    op.drop_table("dataset_versions")
    op.drop_table("api_keys")
