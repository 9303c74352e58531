"""The Spark engine: runs the same Ibis feature definition through ``ibis.pyspark`` (local mode or a cluster).

Spark is where users go past one machine. The session uses UTC as its time zone; the definition frames
time by epoch seconds anyway, so no session setting can move an hour to another day. Staged Parquet is
read by Spark itself (no driver-side copy of the data).

``shared_session`` is the one session of a process that runs pipeline steps (the DAGs' tasks, ``weatherinsight
run``/``backfill``, the ``stage``/``aggregate`` verbs): created on the first step that computes on Spark,
reused by every later one.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from weatherinsight.engines import DuplicateHoursError, duplicate_check_sql
from weatherinsight.errors import SparkUnavailableError
from weatherinsight.features.common import Rules, hour_label
from weatherinsight.features.definitions import build_features, conform, frame, needs_latitude, shape_of
from weatherinsight.features.framing import HOURS, LATITUDES, PERIOD, period_table
from weatherinsight.settings import Settings


def session(
    settings: Settings, master: str | None = None, *, app_name: str = "weatherinsight-aggregate"
) -> Any:
    """The one way WeatherInsight builds a SparkSession (staging and aggregation share it).

    Master from the argument, else the YAML ``spark.master``; session time zone UTC so timestamps mean UTC
    instants on every executor; the UI off (nothing listens on a port in tests or on shared hosts).
    The executors' Python is ``spark.python``, else ``PYSPARK_PYTHON``, else this interpreter.
    """
    from pyspark.sql import SparkSession  # lazy: pyspark is an optional extra

    conf = settings.spark
    check_reachable(master or conf.master)
    # PySpark sends the driver's PYSPARK_PYTHON with every task and defaults to "python3" on each worker's
    # PATH: on a standalone cluster that is rarely the interpreter with pyarrow and WeatherInsight installed.
    os.environ["PYSPARK_PYTHON"] = conf.python or os.environ.get("PYSPARK_PYTHON") or sys.executable
    return (
        SparkSession.builder.master(master or conf.master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", conf.driver_memory)
        .config("spark.executor.memory", conf.executor_memory)
        .config("spark.executor.cores", str(conf.executor_cores))
        .config("spark.sql.shuffle.partitions", "8")
        .getOrCreate()
    )


#: The process's pipeline session (``shared_session``); None until a step first computes on Spark.
_shared: Any = None
_shared_lock = threading.Lock()


def shared_session(settings: Settings, master: str | None = None, *, app_name: str = "weatherinsight") -> Any:
    """The process's one SparkSession, built by ``session`` on first use and reused after: what staging and
    aggregation on Spark run on when their caller passes no session of its own.

    Starting a driver costs seconds and a process can hold only one SparkContext, so every staging and
    aggregation step of a process (a backfill's parallel quarters included: the lock) shares it, and a step
    that finds its inputs unchanged starts none. The first call fixes the master (``master``, else
    ``spark.master``) and the application name; a session stopped since is replaced by a new one.
    """
    global _shared
    with _shared_lock:
        # pyspark marks a stopped session by clearing its context's Java handle (as its own builder checks)
        if _shared is None or _shared.sparkContext._jsc is None:
            _shared = session(settings, master, app_name=app_name)
        return _shared


def check_reachable(master: str, timeout: float = 5.0) -> None:
    """Raise ``SparkUnavailableError`` when no master of a ``spark://`` URL accepts a TCP connection.

    Without this the driver retries for about a minute and ends in a JVM stack trace; other masters (local
    mode, YARN, Kubernetes) are left to Spark.
    """
    if not master.startswith("spark://"):
        return
    problems = []
    for address in master.removeprefix("spark://").split(","):
        host, _, port = address.rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                return
        except OSError as exc:
            problems.append(f"{address}: {exc.strerror or exc}")
    raise SparkUnavailableError(master, "; ".join(problems))


def compute(
    spark: Any, staged: Sequence[Path], product: str, rules: Rules, *, daily: Sequence[Path] | None = None
) -> pa.Table:
    """Curated rows of ``product`` for ``rules.period`` from staged Parquet files, computed by Spark
    (``daily``: the staged daily KL files, as for the DuckDB engine)."""
    if not staged:
        raise ValueError("no staged files given")
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    con = ibis.pyspark.connect(spark)
    # temp views are session-wide and a session may be shared: every view name carries this call's tag
    tag = uuid.uuid4().hex[:8]
    view = f"staged_{product}_{tag}"
    daily_view = f"daily_{product}_{tag}"
    views = [view]
    spark.read.parquet(*[str(p) for p in staged]).createOrReplaceTempView(view)
    if daily:
        spark.read.parquet(*[str(p) for p in daily]).createOrReplaceTempView(daily_view)
        views.append(daily_view)
    cached: list[Any] = []

    def materialize(name: str, expr: ir.Table) -> ir.Table:
        # each framed input is read by a dozen aggregations: cache it once
        df = spark.sql(str(con.compile(expr))).cache()
        cached.append(df)
        stored = f"{name}_{product}_{tag}"
        df.createOrReplaceTempView(stored)
        views.append(stored)
        if name == HOURS:
            dup = spark.sql(duplicate_check_sql(stored)).collect()
            if dup:
                raise DuplicateHoursError(product, dup[0][0], hour_label(rules, dup[0][1]), dup[0][2])
        return con.table(stored)

    try:
        daily_table = con.table(daily_view) if daily else None
        latitudes = None
        if needs_latitude(product):
            lat_view = f"{LATITUDES}_{tag}"
            spark.createDataFrame(
                [(int(sid), float(lat)) for sid, lat in rules.latitudes], "station_id int, latitude double"
            ).createOrReplaceTempView(lat_view)
            views.append(lat_view)
            latitudes = con.table(lat_view)
        period_view = f"{PERIOD}_{tag}"
        spark.createDataFrame(
            [tuple(period_table(rules.period).to_pylist()[0].values())],
            "start_epoch bigint, end_epoch bigint, start_date date, end_date date, start_doy bigint, year_days bigint",
        ).createOrReplaceTempView(period_view)
        views.append(period_view)
        framed = frame(
            con.table(view),
            product,
            con.table(period_view),
            materialize=materialize,
            daily=daily_table,
            latitudes=latitudes,
        )
        # no SQL cache here: the view names differ per call, and Spark's own planning dwarfs the compile
        expr = build_features(framed, product, shape_of(product, rules))
        return conform(con.to_pyarrow(expr), product)
    finally:
        for df in cached:
            df.unpersist()
        for name in views:
            spark.catalog.dropTempView(name)
