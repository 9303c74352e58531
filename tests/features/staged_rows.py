"""Builders for hand-made staged tables (docs/design.md §4 staged schema) used by the feature and aggregate tests.

Hours are given as offsets from the quarter start (negative or past the end to test clipping); values
``None`` stand for DWD's -999 (NULL in the staged table).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from weatherinsight.dwd.products import get_product
from weatherinsight.quarters import Quarter

Q = Quarter(2024, 1)  # leap year: 91 days, 2184 hours; 80 % gates need 1748 hours / 73 days


def rows(
    product: str,
    station: int,
    hours: Sequence[int],
    *,
    quarter: Quarter = Q,
    qn: Sequence[int | None] | int = 3,
    period: Sequence[str] | str = "historical",
    **values: Sequence[Any] | Any,
) -> pa.Table:
    """Staged rows of one station at the given hour offsets; missing value columns are NULL."""
    prod = get_product(product)
    n = len(hours)

    def col(v: Sequence[Any] | Any) -> list[Any]:
        if isinstance(v, (list, tuple)):
            assert len(v) == n, "column length must match hours"
            return list(v)
        return [v] * n

    data: dict[str, list[Any]] = {
        "station_id": [station] * n,
        "ts": [quarter.start + timedelta(hours=h) for h in hours],
        "qn": col(qn),
    }
    for c in prod.value_columns:
        data[c] = col(values.pop(c, None))
    assert not values, f"unknown columns {list(values)}"
    data["source_period"] = col(period)
    data["source_file"] = [f"produkt_{prod.code_lower}_stunde_{station:05d}.txt"] * n
    return pa.Table.from_pydict(data, schema=prod.staged_schema)


def concat(*tables: pa.Table) -> pa.Table:
    return pa.concat_tables(tables)


def write_parquet(table: pa.Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def day_hours(day: int, hours: Sequence[int] = tuple(range(24))) -> list[int]:
    return [day * 24 + h for h in hours]
