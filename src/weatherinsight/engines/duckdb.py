"""The DuckDB engine: runs the Ibis feature definition of a product over staged Parquet (or an Arrow table).

DuckDB is the embedded default. The definition itself lives in ``features/`` and is shared with the Spark
engine; this module only connects, registers the input, stores the framed inputs once in temp tables under
their fixed names (``features/framing.py``; the definition reads them a dozen times; re-scanning Parquet for
each doubled the run time) and collects the result as Arrow. The SQL of both stages comes from the per-process
cache (``engines/sql_cache.py``): the feature SQL keyed by (definition, ``Shape``, framed schemas), the framing
SQL by its own expression, which holds no period fact (the dates are rows of the registered ``PERIOD`` table).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends import BaseBackend

from weatherinsight.engines import DuplicateHoursError, duplicate_check_sql
from weatherinsight.engines.sql_cache import FEATURE_SQL, SqlCache
from weatherinsight.features.common import Rules, hour_label
from weatherinsight.features.definitions import (
    build_features,
    conform,
    definition_key,
    frame,
    needs_latitude,
    shape_of,
)
from weatherinsight.features.framing import HOURS, LATITUDES, PERIOD, latitude_table, period_table
from weatherinsight.logs import get_logger

log = get_logger(__name__)


def _source(raw: duckdb.DuckDBPyConnection, name: str, data: Sequence[Path] | pa.Table) -> str:
    """Register an Arrow table (returns its name) or quote Parquet paths into a ``read_parquet`` call."""
    if isinstance(data, pa.Table):
        raw.register(name, data)
        return name
    if not data:
        raise ValueError("no staged files given")
    return "read_parquet([{}])".format(", ".join("'" + str(p).replace("'", "''") + "'" for p in data))


def _unbound(con: BaseBackend, name: str) -> ir.Table:
    """The connection's table ``name`` as an unbound Ibis table (its name and schema only): expressions over
    it are equal across connections, so they can key the SQL cache."""
    return ibis.table(con.table(name).schema(), name=name)


_UNITS = {"": "B", "b": "B", "k": "KiB", "m": "MiB", "g": "GiB", "t": "TiB"}


def duckdb_memory(size: str) -> str:
    """A settings memory size (``config_checks.MEMORY_SIZE``: ``256m``, ``1g``, ``512mb``) as DuckDB writes it."""
    digits = size.rstrip("kmgtbKMGTB")
    unit = size[len(digits) :].lower().removesuffix("b")
    return f"{int(digits)}{_UNITS[unit]}"


_running = 0
_running_lock = threading.Lock()


def auto_threads(running: int) -> int:
    """Worker threads for an aggregation starting while ``running`` (itself included) run in this process: the
    cores shared out among them, at least one. One alone gets every core; beside others, connections with a
    thread per core each would only contend for the same cores."""
    return max(1, (os.cpu_count() or 1) // max(1, running))


@contextmanager
def _counted() -> Iterator[int]:
    """Count this aggregation among those running in the process; yields how many run, itself included."""
    global _running
    with _running_lock:
        _running += 1
        now = _running
    try:
        yield now
    finally:
        with _running_lock:
            _running -= 1


def compute(
    staged: Sequence[Path] | pa.Table,
    product: str,
    rules: Rules,
    *,
    daily: Sequence[Path] | pa.Table | None = None,
    sql_cache: SqlCache | None = FEATURE_SQL,
    memory_limit: str | None = None,
    spill_dir: Path | None = None,
    threads: int | None = None,
) -> pa.Table:
    """Curated rows (station_id, coverage columns, features) of ``product`` for ``rules.period``.

    ``staged`` is a list of staged Parquet files or an in-memory Arrow table with the staged schema;
    ``daily`` the same for the staged daily KL table (products in ``definitions.USES_DAILY_KL``; None or
    empty: no daily values, every day is hourly-derived). ``sql_cache`` None compiles the feature SQL afresh.
    ``memory_limit`` (a size like ``256m``, ``duckdb.memory_limit``) bounds the connection's memory; beyond it
    DuckDB spills to ``spill_dir`` (its default temp directory when None). Some operators cannot spill: an
    aggregation that still runs out of its bound is logged and run again unbounded, never failed for it.
    ``threads`` caps the connection's worker threads (None: ``auto_threads``).
    """
    with _counted() as running:
        threads = threads or auto_threads(running)
        try:
            return _compute(staged, product, rules, daily, sql_cache, memory_limit, spill_dir, threads)
        except duckdb.OutOfMemoryException as exc:
            if memory_limit is None:
                raise
            log.warning(
                "duckdb_memory_limit_exceeded",
                product=product,
                period=str(rules.period),
                memory_limit=memory_limit,
                error=str(exc).splitlines()[0],
            )
            return _compute(staged, product, rules, daily, sql_cache, None, None, threads)


def _compute(
    staged: Sequence[Path] | pa.Table,
    product: str,
    rules: Rules,
    daily: Sequence[Path] | pa.Table | None,
    sql_cache: SqlCache | None,
    memory_limit: str | None,
    spill_dir: Path | None,
    threads: int,
) -> pa.Table:
    """``compute`` on one fresh connection, with or without the memory bound."""
    con = ibis.duckdb.connect()
    raw = con.con  # the duckdb connection; ibis 12's create_table emits SQL DuckDB 2.0 rejects
    # ibis casts timestamptz → timestamp before taking epoch seconds; that cast is in the session time zone
    raw.execute("SET TimeZone = 'UTC'").fetchall()
    raw.execute(f"SET threads = {int(threads)}").fetchall()
    if memory_limit is not None:
        # several aggregations run at once (pools.spark_jobs): each is bounded and spills beyond its share
        raw.execute(f"SET memory_limit = '{duckdb_memory(memory_limit)}'").fetchall()
        if spill_dir is not None:
            spill_dir.mkdir(parents=True, exist_ok=True)
            raw.execute(f"SET temp_directory = '{str(spill_dir).replace(chr(39), chr(39) * 2)}'").fetchall()
    try:
        source = _source(raw, "staged_arrow", staged)
        # ts arrives as TIMESTAMPTZ; as naive UTC (same instant, via integer microseconds) DuckDB takes epoch
        # seconds natively instead of an ICU time-zone conversion per row and per use (3× faster framing)
        raw.execute(
            f"CREATE TEMP VIEW staged_input AS SELECT * REPLACE (make_timestamp(epoch_us(ts)) AS ts) FROM {source}"
        ).fetchall()
        table = _unbound(con, "staged_input")

        def compiled(key: Hashable, build: Callable[[], ir.Table]) -> str:
            if sql_cache is None:
                return str(con.compile(build()))
            return sql_cache.get(key, lambda: str(con.compile(build())))

        def materialize(name: str, expr: ir.Table) -> ir.Table:
            # the framing expressions hold no period fact (it is in the PERIOD table) and their tables are
            # unbound (name + schema), so the expression itself is an exact key for its SQL
            sql = compiled(("frame", expr.op()), lambda: expr)
            # a fresh connection per call: the fixed temp-table names cannot meet another aggregation's
            raw.execute(f'CREATE TEMP TABLE "{name}" AS {sql}').fetchall()
            if name == HOURS:
                dup = raw.execute(duplicate_check_sql(f'"{name}"')).fetchall()
                if dup:
                    sid, h, n = dup[0]
                    raise DuplicateHoursError(product, sid, hour_label(rules, h), n)
            return _unbound(con, name)

        daily_table = None
        if daily is not None and (isinstance(daily, pa.Table) or daily):
            raw.execute(
                f"CREATE TEMP VIEW daily_input AS SELECT * FROM {_source(raw, 'daily_arrow', daily)}"
            ).fetchall()
            daily_table = _unbound(con, "daily_input")
        latitudes = None
        if needs_latitude(product):
            raw.register(LATITUDES, latitude_table(rules))
            latitudes = _unbound(con, LATITUDES)
        raw.register(PERIOD, period_table(rules.period))
        framed = frame(
            table,
            product,
            _unbound(con, PERIOD),
            materialize=materialize,
            daily=daily_table,
            latitudes=latitudes,
        )
        shape = shape_of(product, rules)
        sql = compiled(
            ("features", definition_key(product), shape, framed.schemas()),
            lambda: build_features(framed, product, shape),
        )
        return conform(raw.sql(sql).to_arrow_table(), product)
    finally:
        con.disconnect()
