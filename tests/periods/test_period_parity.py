"""DuckDB and Spark give equal numbers per month, per winter across the year boundary and per year."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.features.random_staged import random_staged
from tests.features.staged_rows import write_parquet
from tests.periods import cases
from weatherinsight.engines import duckdb as duck
from weatherinsight.engines import spark as sp
from weatherinsight.features.common import Rules
from weatherinsight.periods import Period
from weatherinsight.quarters import Quarter

pytestmark = pytest.mark.spark


def equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


@pytest.mark.parametrize("label", ["2024-02", "2024DJF", "2024"])
def test_duckdb_and_spark_agree_per_period(label: str, spark: Any, tmp_path: Path) -> None:
    staged = pa.concat_tables(
        [
            cases.staged(),
            random_staged(cases.PRODUCT, Quarter(2023, 4), [101, 102]),
            random_staged(cases.PRODUCT, Quarter(2024, 1), [101, 102]),
        ]
    )
    path = write_parquet(staged, tmp_path / "part-00000.parquet")
    rules = Rules(Period.parse(label))
    d = duck.compute([path], cases.PRODUCT, rules)
    s = sp.compute(spark, [path], cases.PRODUCT, rules)
    assert d.schema == s.schema
    assert d.num_rows == s.num_rows > 0
    mismatches = [
        (row["station_id"], name, row[name], other[name])
        for row, other in zip(d.to_pylist(), s.to_pylist(), strict=True)
        for name in d.column_names
        if not equal(row[name], other[name])
    ]
    assert mismatches == []
