"""Helpers for pipeline/CLI tests on the DWD mirror: environment for the CLI and database read-backs."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from tests.fixtures.core import settings_env
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage, tables

#: Quality thresholds sized for the 5-station test mirror (one station = 25 %).
SMALL_MIRROR_THRESHOLDS = {
    "min_rows_per_quarter": 3,
    "min_stations_per_quarter": 3,
    "max_null_percentage": 40.0,
}


def cli_env(settings: Settings) -> dict[str, str]:
    """The WEATHERINSIGHT_* environment that makes ``settings_from_env()`` return ``settings``."""
    return {**settings_env(settings), "WEATHERINSIGHT_LOG_LEVEL": "WARNING"}


def versions(settings: Settings, product: str, quarter: Quarter) -> dict[str, str]:
    """``{version_name: status}`` of the curated versions of (product, quarter)."""
    with db.get_engine(settings.database_url).connect() as conn:
        return {
            v.version_name: v.status
            for v in lineage.list_versions(conn, kind="curated", product=product, quarter=quarter)
        }


def published_rows(settings: Settings, product: str, quarter: Quarter) -> tuple[str | None, int]:
    """(AVAILABLE curated version, its row count in the curated table)."""
    with db.get_engine(settings.database_url).connect() as conn:
        v = lineage.find_available(conn, "curated", product, quarter)
        if v is None:
            return None, 0
        t = tables.curated_table(product)
        n = conn.execute(
            select(func.count()).where(
                t.c.year == quarter.year,
                t.c.quarter == quarter.quarter,
                t.c.dataset_version == v.version_name,
            )
        ).scalar_one()
        return v.version_name, int(n)


def staged_stations(settings: Settings, product: str, quarter: Quarter) -> int:
    """Distinct stations in the staged Parquet of (product, quarter), read independently of the pipeline."""
    import pyarrow.dataset as ds

    path = settings.staged_dir / product / f"year={quarter.year}" / f"quarter={quarter.quarter}"
    table = ds.dataset(str(path), format="parquet").to_table(columns=["station_id"])
    return len(set(table.column("station_id").to_pylist()))


def corrupt_product(mirror_root: Path, product: str) -> int:
    """Overwrite every zip of ``product`` in a mirror copy with bytes that are not a zip; returns the count."""
    from weatherinsight.dwd.products import get_product

    n = 0
    for path in mirror_root.rglob(f"{get_product(product).directory}/*/*.zip"):
        path.write_bytes(b"this is not a zip file\n" * 10)
        n += 1
    return n
