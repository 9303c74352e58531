"""The DuckDB engine: runs the Ibis feature definition of a product over staged Parquet (or an Arrow table).

DuckDB is the embedded default. The definition itself lives in ``features/`` and is shared with the Spark
engine; this module only connects, registers the input and collects the result as Arrow.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import ibis
import pyarrow as pa

from weatherinsight.features.common import Rules
from weatherinsight.features.definitions import build_quarter, conform


def compute(
    staged: Sequence[Path] | pa.Table, product: str, rules: Rules, *, threads: int | None = None
) -> pa.Table:
    """Curated rows (station_id, coverage columns, features) of ``product`` for ``rules.quarter``.

    ``staged`` is a list of staged Parquet files or an in-memory Arrow table with the staged schema.
    """
    con = ibis.duckdb.connect(threads=threads) if threads else ibis.duckdb.connect()
    try:
        if isinstance(staged, pa.Table):
            table = ibis.memtable(staged)
        else:
            if not staged:
                raise ValueError("no staged files given")
            table = con.read_parquet([str(p) for p in staged], table_name="staged")
        expr = build_quarter(table, product, rules)
        return conform(con.to_pyarrow(expr), product)
    finally:
        con.disconnect()
