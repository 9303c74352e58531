"""The DuckDB engine's memory bound (``duckdb.memory_limit``): the size DuckDB is given, and that a bounded
aggregation that has to spill computes exactly what an unbounded one does."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from weatherinsight.engines.duckdb import compute, duckdb_memory
from weatherinsight.features.common import Rules
from weatherinsight.periods import Period
from weatherinsight.settings import load_settings


@pytest.mark.parametrize(
    ("size", "duck"),
    [
        ("256m", "256MiB"),
        ("1g", "1GiB"),
        ("512mb", "512MiB"),
        ("2GB", "2GiB"),
        ("64K", "64KiB"),
        ("4096", "4096B"),
    ],
)
def test_settings_sizes_become_duckdb_sizes(size: str, duck: str) -> None:
    assert duckdb_memory(size) == duck
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{duck}'")  # DuckDB accepts what we hand it
    con.close()


def test_a_bounded_aggregation_spills_and_equals_the_unbounded_one(tmp_path: Path) -> None:
    from weatherinsight.dwd.products import get_product

    prod = get_product("moisture")
    schema = prod.staged_schema
    period = Period.parse("2024")
    hours = period.hours
    n = 40
    start = period.start
    # one value column per staged value field, filled from a deterministic pattern; quality columns 3
    cols: dict[str, list[object]] = {f.name: [] for f in schema}
    for s in range(n):
        for h in range(hours):
            for f in schema:
                if f.name == "station_id":
                    cols[f.name].append(1000 + s)
                elif f.name == "ts":
                    cols[f.name].append(start + timedelta(hours=h))
                elif pa.types.is_floating(f.type):
                    cols[f.name].append(float((h * 7 + s * 3) % 97) / 3)
                elif pa.types.is_integer(f.type):
                    cols[f.name].append(3)
                else:
                    cols[f.name].append("historical" if "period" in f.name else "x.zip")
    table = pa.table({k: pa.array(v, type=schema.field(k).type) for k, v in cols.items()}, schema=schema)
    settings = load_settings(data_dir=tmp_path / "d")
    rules = Rules.from_config(period, settings.features)
    free = compute(table, "moisture", rules)
    spill = tmp_path / "spill"
    bounded = compute(table, "moisture", rules, memory_limit="16m", spill_dir=spill)
    assert spill.is_dir()
    assert bounded.num_rows == free.num_rows == n
    assert bounded.schema == free.schema
    for name in free.column_names:
        a, b = free.column(name).to_pylist(), bounded.column(name).to_pylist()
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            if isinstance(x, float) and isinstance(y, float):
                assert y == pytest.approx(x, rel=1e-12), name
            else:
                assert x == y, name
