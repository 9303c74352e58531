"""Plant published monthly curated values straight through the warehouse layer (much faster than running the
pipeline for 30 years): one curated version per month, rows with every column, chosen feature values."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from weatherinsight.features.catalog import features_for
from weatherinsight.periods import Period
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage, tables

#: value(station_id, period, feature) → the planted value (None = NULL); a station whose ``rows`` returns
#: False for a period has no row there at all.
Value = Callable[[int, Period, str], float | int | None]


def plant_periods(
    settings: Settings,
    product: str,
    periods: Iterable[Period],
    stations: Iterable[int],
    value: Value,
    present: Callable[[int, Period], bool] = lambda s, p: True,
) -> None:
    engine = db.get_engine(settings.database_url)
    db.ensure_schema(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for p in periods:
            v = lineage.begin_version(conn, settings, "curated", product, p, fingerprint=f"planted-{p}")
            rows: list[dict[str, Any]] = []
            for s in stations:
                if not present(s, p):
                    continue
                row: dict[str, Any] = {
                    "station_id": s,
                    "year": p.year,
                    "quarter": p.number,
                    "period_kind": p.kind,
                    "dataset_version": v.version_name,
                    "hours_expected": p.hours,
                    "hours_valid": p.hours,
                    "days_valid": p.days,
                    "coverage": 1.0,
                    "qn_min": 3,
                    "qn_max": 3,
                    "share_recent": 0.0,
                    "computed_at": now,
                }
                for f in features_for(product):
                    row[f.name] = value(s, p, f.name) if f.sql_type != "str" else None
                    if f.sql_type == "int" and row[f.name] is not None:
                        row[f.name] = int(row[f.name])
                rows.append(row)
            n = db.bulk_insert(conn, tables.curated_table(product), rows)
            lineage.publish_version(conn, v, row_count=n)
