"""Plant curated quarters straight through the warehouse layer (lineage + bulk_insert) for quality tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.features.catalog import features_for
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage, tables

ALL_PRODUCTS = tuple(PRODUCTS)  # every registered product


def _value(sql_type: str) -> Any:
    return {"float": 1.5, "int": 3, "str": "W"}[sql_type]


def curated_rows(
    product: str, quarter: Quarter, version: str, stations: int, nulls: Mapping[str, int] | None = None
) -> list[dict[str, Any]]:
    """``stations`` rows (station ids 1000…); ``nulls[column] = k`` makes the first k rows NULL there."""
    nulls = nulls or {}
    now = datetime.now(UTC)
    rows = []
    for i in range(stations):
        row: dict[str, Any] = {
            "station_id": 1000 + i,
            "year": quarter.year,
            "quarter": quarter.quarter,
            "dataset_version": version,
            "hours_expected": quarter.hours,
            "hours_valid": quarter.hours,
            "days_valid": quarter.days,
            "coverage": 1.0,
            "qn_min": 3,
            "qn_max": 3,
            "share_recent": 0.0,
            "computed_at": now,
        }
        for f in features_for(product):
            row[f.name] = None if i < nulls.get(f.name, 0) else _value(f.sql_type)
        rows.append(row)
    return rows


def plant(
    settings: Settings,
    quarter: Quarter | str,
    *,
    products: Iterable[str] = ALL_PRODUCTS,
    stations: int = 110,
    nulls: Mapping[str, int] | None = None,
    fail_kind: str | None = None,
) -> None:
    """Publish raw, staged and curated versions of ``quarter`` (``fail_kind``'s newest ends FAILED)."""
    q = quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter)
    engine = db.get_engine(settings.database_url)
    db.ensure_schema(engine)
    with engine.begin() as conn:
        for product in products:
            for kind in ("raw", "staged", "curated"):
                v = lineage.begin_version(
                    conn, settings, kind, product, q, fingerprint=f"{kind}-{product}-{q}"
                )
                if kind == "curated":
                    n = db.bulk_insert(
                        conn,
                        tables.curated_table(product),
                        curated_rows(product, q, v.version_name, stations, nulls),
                    )
                    lineage.publish_version(conn, v, row_count=n)
                else:
                    lineage.publish_version(conn, v, row_count=0)
                if kind == fail_kind:
                    newer = lineage.begin_version(
                        conn, settings, kind, product, q, fingerprint=f"{kind}-{product}-{q}-changed"
                    )
                    lineage.fail_version(conn, newer, "planted failure")
