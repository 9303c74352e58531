"""The Spark engine: runs the same Ibis feature definition through ``ibis.pyspark`` (local mode or a cluster).

Spark is where users go past one machine. The session uses UTC as its time zone; the definition frames
time by epoch seconds anyway, so no session setting can move an hour to another day. Staged Parquet is
read by Spark itself (no driver-side copy of the data).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from weatherinsight.engines import DuplicateHoursError, duplicate_check_sql
from weatherinsight.features.common import Rules, hour_label
from weatherinsight.features.definitions import build_quarter, conform
from weatherinsight.settings import Settings


def session(
    settings: Settings, master: str | None = None, *, app_name: str = "weatherinsight-aggregate"
) -> Any:
    """The one way WeatherInsight builds a SparkSession (staging and aggregation share it).

    Master from the argument, else the YAML ``spark.master``; session time zone UTC so timestamps mean UTC
    instants on every executor; the UI off (nothing listens on a port in tests or on shared hosts).
    """
    from pyspark.sql import SparkSession  # lazy: pyspark is an optional extra

    conf = settings.spark
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


def compute(spark: Any, staged: Sequence[Path], product: str, rules: Rules) -> pa.Table:
    """Curated rows of ``product`` for ``rules.period`` from staged Parquet files, computed by Spark."""
    if not staged:
        raise ValueError("no staged files given")
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    con = ibis.pyspark.connect(spark)
    tag = uuid.uuid4().hex[:8]
    view = f"staged_{product}_{tag}"
    prepared = f"prepared_{product}_{tag}"
    spark.read.parquet(*[str(p) for p in staged]).createOrReplaceTempView(view)
    cached: list[Any] = []

    def materialize(expr: ir.Table) -> ir.Table:
        # the framed quarter rows are read by a dozen aggregations: cache them once
        df = spark.sql(str(con.compile(expr))).cache()
        cached.append(df)
        df.createOrReplaceTempView(prepared)
        dup = spark.sql(duplicate_check_sql(prepared)).collect()
        if dup:
            raise DuplicateHoursError(product, dup[0][0], hour_label(rules, dup[0][1]), dup[0][2])
        return con.table(prepared)

    try:
        expr = build_quarter(con.table(view), product, rules, materialize=materialize)
        return conform(con.to_pyarrow(expr), product)
    finally:
        for df in cached:
            df.unpersist()
        spark.catalog.dropTempView(prepared)
        spark.catalog.dropTempView(view)
