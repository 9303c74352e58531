"""Schema: Alembic migrations are idempotent, process-safe, and produce exactly ``tables.metadata``."""

from __future__ import annotations

import multiprocessing

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, func, inspect, select, text

from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.features.catalog import CATALOG, COVERAGE_COLUMNS, features_for
from weatherinsight.warehouse import db, tables


def _diff(engine: Engine, target: MetaData) -> list[object]:
    with engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return list(compare_metadata(mc, target))


def test_migrated_schema_equals_metadata(engine: Engine) -> None:
    assert _diff(engine, tables.metadata) == []
    names = set(inspect(engine).get_table_names())
    assert names == set(tables.metadata.tables) | {"alembic_version"}


def test_drift_is_detected(engine: Engine) -> None:
    # A column added to the metadata but not to a migration must show up as a difference.
    drifted = MetaData(naming_convention=tables.NAMING)
    for t in tables.metadata.tables.values():
        t.to_metadata(drifted)
    drifted.tables["quarterly_wind_features"].append_column(Column("new_feature", Integer))
    diff = _diff(engine, drifted)
    assert len(diff) == 1
    op = diff[0]
    assert isinstance(op, tuple)
    assert op[0] == "add_column"
    assert op[2] == "quarterly_wind_features"
    assert op[3].name == "new_feature"


def test_ensure_schema_is_idempotent(db_url: str) -> None:
    assert db.current_revision(db_url) is None
    db.ensure_schema(db_url)
    db.ensure_schema(db_url)
    db.ensure_schema(db.get_engine(db_url))
    assert db.current_revision(db_url) == db.head_revision() == "0009_raw_listing_quick_check"
    with db.get_engine(db_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(tables.feature_catalog)).scalar_one() == len(
            CATALOG
        )
    db.dispose_engines()


def _migrate(url: str) -> str | None:
    db.ensure_schema(url)
    return db.current_revision(url)


@pytest.mark.slow
def test_two_processes_migrate_at_once(db_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.map(_migrate, [db_url, db_url])
    assert results == ["0009_raw_listing_quick_check", "0009_raw_listing_quick_check"]
    engine = db.get_engine(db_url)
    assert _diff(engine, tables.metadata) == []
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tables.feature_catalog)).scalar_one() == len(
            CATALOG
        )
    db.dispose_engines()


def test_curated_tables_follow_registry_and_catalog(engine: Engine) -> None:
    insp = inspect(engine)
    for name, product in PRODUCTS.items():
        cols = [c["name"] for c in insp.get_columns(product.curated_table)]
        expected = [
            "station_id",
            "year",
            "quarter",
            "dataset_version",
            *(c for c, _, _ in COVERAGE_COLUMNS),
            "computed_at",
            *(f.name for f in features_for(name)),
            "period_kind",
        ]
        assert cols == expected
        pk = insp.get_pk_constraint(product.curated_table)["constrained_columns"]
        assert pk == ["station_id", "year", "quarter", "dataset_version"]
    wind = {c["name"]: c for c in insp.get_columns("quarterly_wind_features")}
    assert wind["dominant_sector"]["type"].python_type is str
    assert wind["calm_hours"]["type"].python_type is int
    assert wind["wind_speed_mean"]["type"].python_type is float


def test_feature_catalog_table_matches_catalog(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = {r.name: r for r in conn.execute(select(tables.feature_catalog))}
    assert len(rows) == len(CATALOG) == 64
    assert rows["rx5day"].product == "precipitation"
    assert rows["rx5day"].unit == "mm"
    assert rows["frost_days"].sql_type == "int"
    assert rows["frost_days"].standard == "ETCCDI"
    assert rows["hot_days"].standard == "DWD heißer Tag (TX ≥ 30 °C)"
    assert (rows["tx_tn_source"].sql_type, rows["rr_source"].product) == ("str", "precipitation")
    # A second sync with an unchanged catalog writes nothing.
    with engine.begin() as conn:
        assert db.sync_feature_catalog(conn) == 0
        conn.execute(tables.feature_catalog.delete().where(tables.feature_catalog.c.name == "rx5day"))
        assert db.sync_feature_catalog(conn) == len(CATALOG)


def test_sqlite_pragmas(data_dir: object) -> None:
    url = f"sqlite:///{data_dir}/pragmas.db"
    engine = db.get_engine(url)
    assert db.get_engine(url) is engine  # cached per URL
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 30000
    db.dispose_engines()


def test_postgres_url_uses_psycopg3() -> None:
    assert db.normalize_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db.normalize_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db.normalize_url("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db.normalize_url("sqlite:///x.db") == "sqlite:///x.db"
