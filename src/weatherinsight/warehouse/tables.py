"""The curated database schema (SQLAlchemy Core ``metadata``): every table WeatherInsight stores (docs/design.md §4).

Bookkeeping tables (raw files, ingestion runs, dataset versions, stations, catalog, quality results, API keys,
staged partitions) are written out here; the curated feature tables (one per product) are built from the product registry
and the feature catalog, so a new product needs no change in this module. The Alembic migrations in
``migrations/versions`` spell the same schema out statically; ``tests/warehouse`` fails when the two drift.
``sync_feature_catalog(conn)`` fills ``feature_catalog`` from ``features.catalog`` (``db.ensure_schema`` runs it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.types import TypeEngine

from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.features import catalog
from weatherinsight.features.catalog import COVERAGE_COLUMNS, SqlType, features_for

# Constraint names are explicit so migrations and reflection agree on both SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

#: Dataset version kinds and statuses (docs/design.md §4); ``normal``: a set of climate normals (issue #18).
VERSION_KINDS = ("raw", "staged", "curated", "normal")
VERSION_STATUSES = ("PENDING", "AVAILABLE", "FAILED", "SUPERSEDED")
#: ``raw_files.status`` values.
RAW_FILE_STATUSES = ("current", "superseded", "quarantined")
SEVERITIES = ("fatal", "warning")


def _ts(name: str, *, nullable: bool = True) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


def period_kind_column() -> Column[object]:
    """``period_kind``: month | season | quarter | year (``periods.PERIOD_KINDS``); rows written before
    periods existed are quarters. With it, ``(period_kind, year, quarter)`` names a period: ``quarter`` keeps
    its name (every quarterly reader and writer uses it) and holds the period's number within its year —
    month 1–12, season 1–4 (DJF, MAM, JJA, SON; DJF's year is the one its January and February are in),
    quarter 1–4, year 1."""
    return Column("period_kind", String(8), nullable=False, server_default=text("'quarter'"))


ingestion_runs = Table(
    "ingestion_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("product", String(64), nullable=False),
    Column("period", String(32), nullable=False),  # historical | recent | all
    _ts("started_at", nullable=False),
    _ts("finished_at"),
    Column("status", String(32), nullable=False),  # running | succeeded | partial | failed | aborted
    Column("files_listed", Integer, nullable=False, server_default=text("0")),
    Column("files_new", Integer, nullable=False, server_default=text("0")),
    Column("files_changed", Integer, nullable=False, server_default=text("0")),
    Column("files_unchanged", Integer, nullable=False, server_default=text("0")),
    # Of files_unchanged, those the directory listing alone showed unchanged: no request (migration 0009).
    Column("files_quick_checked", Integer, nullable=False, server_default=text("0")),
    Column("files_failed", Integer, nullable=False, server_default=text("0")),
    Column("bytes_downloaded", BigInteger, nullable=False, server_default=text("0")),
    Column("error_summary", Text),
    # The process that ran it (issue #14): a row left ``running`` by a killed process names it when aborted.
    Column("host", String(255)),
    Column("pid", Integer),
    Index(None, "product", "started_at"),
)

raw_files = Table(
    "raw_files",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", Text, nullable=False),
    Column("product", String(64), nullable=False),
    Column("period", String(32), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("station_id", Integer),  # NULL for station lists and other non-station files
    Column("size", BigInteger),
    _ts("last_modified"),
    Column("etag", String(255)),
    Column("sha256", String(64)),
    Column("storage_path", Text),
    _ts("fetched_at", nullable=False),
    Column("ingestion_run_id", Integer, ForeignKey("ingestion_runs.id")),
    # current | superseded (an older copy kept under _history/) | quarantined (with the reason)
    Column("status", String(32), nullable=False, server_default=text("'current'")),
    Column("quarantine_reason", Text),
    # The produkt member's name and the days it names, learnt when ingest verified the zip (migration 0008),
    # so dating the raw versions never opens the stored zip; NULL for rows stored before, and station lists.
    Column("member_name", String(255)),
    Column("member_first_day", Date),
    Column("member_last_day", Date),
    # The listing's size and modified minute of the file when a GET fetched or re-validated these bytes, and
    # when that GET was sent (migration 0009): the quick check of the next ingest (``ingest.plan``) skips
    # the request when the listing still shows both. NULL for rows before, until their next GET.
    Column("listed_size", BigInteger),
    _ts("listed_modified"),
    _ts("validated_at"),
    Index(None, "product", "period", "file_name"),
    Index(None, "product", "station_id"),
    Index(None, "ingestion_run_id"),
    # One current row per file (issue #14): recording a stored file twice cannot duplicate it.
    Index(
        "uq_raw_files_current",
        "product",
        "period",
        "file_name",
        unique=True,
        sqlite_where=text("status = 'current'"),
        postgresql_where=text("status = 'current'"),
    ),
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version_name", String(128), nullable=False),  # e.g. 2024Q1_v2, 2024Q1_staged_v1
    Column("version_number", Integer, nullable=False),  # the N of _vN, per (kind, product, quarter)
    Column("kind", String(16), nullable=False),  # raw | staged | curated
    Column("product", String(64), nullable=False),
    Column("year", Integer, nullable=False),
    Column("quarter", Integer, nullable=False),  # the period's number within its year (period_kind_column)
    period_kind_column(),
    Column("status", String(16), nullable=False),  # PENDING | AVAILABLE | FAILED | SUPERSEDED
    Column("row_count", BigInteger),
    Column("parent_versions", JSON, nullable=False),  # list of version names this one was built from
    Column("input_fingerprint", String(128)),
    _ts("created_at", nullable=False),
    _ts("updated_at", nullable=False),
    Column("error", Text),
    UniqueConstraint("kind", "product", "version_name"),
    Index(None, "kind", "product", "year", "quarter", "status"),
    # At most one AVAILABLE version per (kind, product, period): a second concurrent publisher fails
    # instead of leaving two "current" versions behind.
    Index(
        "uq_dataset_versions_one_available",
        "kind",
        "product",
        "period_kind",
        "year",
        "quarter",
        unique=True,
        sqlite_where=text("status = 'AVAILABLE'"),
        postgresql_where=text("status = 'AVAILABLE'"),
    ),
)

station_metadata = Table(
    "station_metadata",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("product", String(64), nullable=False),
    Column("station_id", Integer, nullable=False),
    Column("name", String(255)),
    Column("state", String(128)),  # Bundesland
    Column("height", Float),  # metres above sea level
    Column("lat", Float),
    Column("lon", Float),
    Column("valid_from", Date),  # von_datum of the station list
    Column("valid_to", Date),  # bis_datum of the station list
    Column("source_file", Text),
    _ts("updated_at"),
    UniqueConstraint("product", "station_id"),
    Index(None, "station_id"),
)

station_locations = Table(
    "station_locations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("station_id", Integer, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),  # NULL = the current location
    Column("height_m", Float),
    Column("latitude", Float),
    Column("longitude", Float),
    Column("name", String(255)),
    Column("source_file", Text),
    UniqueConstraint("station_id", "valid_from"),
)

feature_catalog = Table(
    "feature_catalog",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("product", String(64), nullable=False),
    Column("variable", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # hourly | daily
    Column("unit", String(32), nullable=False),
    Column("definition", Text, nullable=False),
    Column("standard", String(128), nullable=False),
    Column("sql_type", String(16), nullable=False),  # float | int | str
)

quality_check_results = Table(
    "quality_check_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    _ts("checked_at", nullable=False),
    Column("year", Integer, nullable=False),
    Column("quarter", Integer, nullable=False),
    Column("product", String(64)),
    Column("table_name", String(128)),
    Column("check_name", String(64), nullable=False),
    Column("column_name", String(64)),
    Column("severity", String(16), nullable=False),  # fatal | warning
    Column("passed", Boolean, nullable=False),
    Column("measured_value", Float),
    Column("threshold", Float),
    Column("message", Text),
    Index(None, "year", "quarter", "product"),
    Index(None, "run_id"),
)

#: One row per (quarter, curated versions) the data-quality sweep has claimed: the claim is the INSERT, so
#: two concurrent quality runs never check the same published state twice (pipeline/quality_sweep.py).
quality_checked_quarters = Table(
    "quality_checked_quarters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("year", Integer, nullable=False),
    Column("quarter", Integer, nullable=False),
    Column("versions", String(1024), nullable=False),  # "product=version_name" pairs, sorted, comma-joined
    Column("run_id", String(64), nullable=False),  # the quality_check_results run of this claim
    _ts("claimed_at", nullable=False),
    _ts("finished_at"),
    UniqueConstraint("year", "quarter", "versions"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("key_hash", String(128), nullable=False),  # SHA-256 hex of the secret; the secret is never stored
    Column(
        "key_prefix", String(16), nullable=False
    ),  # first characters of the secret, for people to tell keys apart
    _ts("created_at", nullable=False),
    _ts("revoked_at"),
    _ts("last_used_at"),
    Column("rate_limit_per_minute", Integer),  # NULL = settings.api_rate_limit_per_minute
    UniqueConstraint("key_hash"),
)

staged_partitions = Table(
    "staged_partitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("product", String(64), nullable=False),
    Column("year", Integer, nullable=False),
    Column("quarter", Integer, nullable=False),
    Column("version", String(128), nullable=False),  # the staged dataset version name
    Column("row_count", BigInteger, nullable=False),
    Column("fingerprint", String(128)),
    Column("path", Text, nullable=False),
    _ts("created_at", nullable=False),
    UniqueConstraint("product", "year", "quarter", "version"),
)


#: Climate normals (issue #18, ``weatherinsight.normals``): one row per product × station × period of the year ×
#: numeric feature of one normals version. ``normal`` is NULL when fewer than the required valid years exist
#: (docs/design.md §5); ``years`` is the number of valid (non-NULL) yearly values behind it either way.
climate_normals = Table(
    "climate_normals",
    metadata,
    Column("product", String(64), nullable=False),
    Column("dataset_version", String(128), nullable=False),  # e.g. 1991-2020_month_normals_v1
    Column("station_id", Integer, nullable=False),
    Column("period_kind", String(8), nullable=False),  # month | season | quarter | year
    Column(
        "period_number", Integer, nullable=False
    ),  # month 1–12, season 1–4 (DJF..SON), quarter 1–4, year 1
    Column("feature", String(64), nullable=False),
    Column("base_start", Integer, nullable=False),
    Column("base_end", Integer, nullable=False),
    Column("normal", Float),
    Column("years", Integer, nullable=False),
    PrimaryKeyConstraint(
        "product", "dataset_version", "station_id", "period_kind", "period_number", "feature"
    ),
)


def sql_type(kind: SqlType) -> TypeEngine[Any]:
    """The column type for a catalog ``sql_type`` (strings get a bound length, sector names are short)."""
    if kind == "float":
        return Float()
    if kind == "int":
        return Integer()
    return String(32)


def _curated_table(product: str, table_name: str) -> Table:
    coverage = [Column(name, sql_type(kind)) for name, kind, _ in COVERAGE_COLUMNS]
    features = [Column(f.name, sql_type(f.sql_type)) for f in features_for(product)]
    return Table(
        table_name,
        metadata,
        Column("station_id", Integer, nullable=False),
        Column("year", Integer, nullable=False),
        Column("quarter", Integer, nullable=False),
        Column("dataset_version", String(128), nullable=False),
        *coverage,
        _ts("computed_at", nullable=False),
        *features,
        period_kind_column(),  # last: migration 0006 appended it to the existing tables
        PrimaryKeyConstraint("station_id", "year", "quarter", "dataset_version"),
        # Whole-quarter reads filter on (year, quarter, dataset_version) and page by station_id.
        # Named by hand: the convention's name would pass PostgreSQL's 63-character identifier limit.
        Index(f"ix_{table_name}_quarter", "year", "quarter", "dataset_version", "station_id"),
    )


#: product name → its curated table (from ``Product.curated_table``).
CURATED_TABLES: dict[str, Table] = {
    name: _curated_table(name, product.curated_table) for name, product in PRODUCTS.items()
}

#: The non-feature leading columns of every curated table, in order.
CURATED_KEY_COLUMNS = ("station_id", "year", "quarter", "dataset_version")


def curated_table(product: str) -> Table:
    """The curated table of a product (``KeyError`` for an unknown product name).

    A product registered at run time (``features.definitions.register``) gets its table here on first use,
    built the same way as the shipped ones; ``curated_tables()`` does it for every registered product."""
    if product not in CURATED_TABLES:
        CURATED_TABLES[product] = _curated_table(product, PRODUCTS[product].curated_table)
    return CURATED_TABLES[product]


def curated_tables() -> dict[str, Table]:
    """Every registered product's curated table (``db.ensure_schema`` creates them)."""
    for name in PRODUCTS:
        curated_table(name)
    return CURATED_TABLES


def forget_curated_table(product: str) -> None:
    """Drop a run-time product's table from ``metadata`` again (after ``features.definitions.unregister``)."""
    table = CURATED_TABLES.pop(product, None)
    if table is not None:
        metadata.remove(table)


def table_by_name(name: str) -> Table:
    """Look a table up by its SQL name (``KeyError`` when unknown)."""
    return metadata.tables[name]


def sync_feature_catalog(conn: Connection) -> int:
    """Make ``feature_catalog`` equal to ``features.catalog.CATALOG`` (in the caller's transaction)."""
    rows = [
        {
            "name": f.name,
            "product": f.product,
            "variable": f.variable,
            "kind": f.kind,
            "unit": f.unit,
            "definition": f.definition,
            "standard": f.standard,
            "sql_type": f.sql_type,
        }
        for f in catalog.CATALOG
    ]
    existing = {tuple(r) for r in conn.execute(select(*feature_catalog.c))}
    if existing == {tuple(r[c.name] for c in feature_catalog.c) for r in rows}:
        return 0  # already in sync: no write, so concurrent readers and writers are not disturbed
    conn.execute(feature_catalog.delete())
    conn.execute(feature_catalog.insert(), rows)
    return len(rows)
