"""Staging on Spark: the same per-station work as the DuckDB path, distributed over executors.

The driver plans as for the embedded path (``weatherinsight.staging.service``); Spark only runs the
per-station step. Each task gets (station id, that station's raw file descriptors), reads the bytes with
fsspec on the executor, and calls ``weatherinsight.staging.worker.stage_station`` — the same pure parser and the
same precedence code — inside ``mapInArrow``. Data rows are written with ``partitionBy(year, quarter)`` into the
run's temp area and then committed with the same atomic partition swap. Per-file outcomes (ranges, quarantine
reasons) and location history travel back as side rows (``_kind`` not NULL) of the same persisted result, so
every file is parsed exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa

from weatherinsight.dwd.metadata import GEOGRAPHY_SCHEMA, DroppedPeriod
from weatherinsight.dwd.products import Product
from weatherinsight.dwd.produkt_skip import Window
from weatherinsight.engines import spark as engines_spark
from weatherinsight.logs import get_logger
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.staging.inventory import RawInput
from weatherinsight.staging.precedence import split_by_quarter
from weatherinsight.staging.worker import FileOutcome, stage_station
from weatherinsight.storage.raw import raw_store_options

log = get_logger(__name__)

SIDE_KIND = "_kind"
SIDE_INFO = "_info"
SPARK_OUT = "spark"


@dataclass
class SparkStageOutput:
    outcomes: list[FileOutcome]
    geography: list[pa.Table]
    written_root: Path
    #: (station id, quarter, rows) of the parsed rows of quarters this run does not write
    not_written: list[tuple[int, Quarter, int]]


def spark_session(settings: Settings, master: str) -> Any:
    """The process's SparkSession (``engines.spark.shared_session``: UTC session time zone), named for the
    Spark UI/logs when staging is the first to start it."""
    return engines_spark.shared_session(settings, master, app_name="weatherinsight-stage")


def _output_arrow_schema(product: Product) -> pa.Schema:
    fields = list(product.staged_schema)
    return pa.schema(
        [
            *(pa.field(f.name, f.type, nullable=True) for f in fields),
            pa.field("year", pa.int32()),
            pa.field("quarter", pa.int32()),
            pa.field(SIDE_KIND, pa.string()),
            pa.field(SIDE_INFO, pa.string()),
        ]
    )


def _spark_ddl(schema: pa.Schema) -> str:
    names = {
        pa.int8(): "tinyint",
        pa.int16(): "smallint",
        pa.int32(): "int",
        pa.int64(): "bigint",
        pa.float64(): "double",
        pa.float32(): "float",
        pa.string(): "string",
    }
    parts = []
    for f in schema:
        if pa.types.is_timestamp(f.type):
            parts.append(f"`{f.name}` timestamp")
        else:
            parts.append(f"`{f.name}` {names[f.type]}")
    return ", ".join(parts)


def _json_default(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    return str(v)


def _station_batches(
    product: Product,
    raw_store: str,
    raw_options: dict[str, Any],
    station_id: int,
    files_json: str,
    dirty: frozenset[tuple[int, int]],
    max_bytes: int,
    schema: pa.Schema,
    window: Window | None,
) -> Iterator[pa.RecordBatch]:
    """The executor side for one station: parse + precedence via ``stage_station``, then rows + side rows."""
    fs, _ = fsspec.core.url_to_fs(raw_store, **raw_options)
    items = [RawInput(**d) for d in json.loads(files_json)]
    out = stage_station(
        product, station_id, items, fs.cat_file, max_uncompressed_bytes=max_bytes, window=window
    )
    side: list[tuple[str, str]] = []
    for year, quarter, piece in split_by_quarter(out.table):
        if (year, quarter) not in dirty:
            # not written here: the driver decides whether these rows are counted as left out
            side.append(("left", json.dumps({"year": year, "quarter": quarter, "rows": piece.num_rows})))
            continue
        n = piece.num_rows
        cols = [  # text columns arrive dictionary-encoded; Spark gets plain strings
            piece.column(f.name)
            if piece.schema.field(f.name).type == f.type
            else piece.column(f.name).cast(f.type)
            for f in product.staged_schema
        ]
        cols += [
            pa.array([year] * n, pa.int32()),
            pa.array([quarter] * n, pa.int32()),
            pa.nulls(n, pa.string()),
            pa.nulls(n, pa.string()),
        ]
        yield from pa.Table.from_arrays(cols, schema=schema).to_batches()
    side += [("file", json.dumps(asdict(o), default=_json_default)) for o in out.files]
    side += [("geo", json.dumps(g.to_pylist(), default=_json_default)) for g in out.geography]
    if side:
        n = len(side)
        arrays: list[pa.Array] = []
        for f in schema:
            if f.name == SIDE_KIND:
                arrays.append(pa.array([k for k, _ in side], pa.string()))
            elif f.name == SIDE_INFO:
                arrays.append(pa.array([i for _, i in side], pa.string()))
            elif f.name == "station_id":
                arrays.append(pa.array([station_id] * n, pa.int32()))
            else:
                arrays.append(pa.nulls(n, f.type))
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _outcome_from_json(d: dict[str, Any]) -> FileOutcome:
    for k in ("first", "last", "release"):
        if d.get(k):
            d[k] = datetime.fromisoformat(d[k])
    # Rows left out for an unconvertible time reference (dates travel as ISO strings).
    d["dropped"] = tuple(
        DroppedPeriod(**{**p, "start": date.fromisoformat(p["start"]), "end": date.fromisoformat(p["end"])})
        for p in d.get("dropped", ())
    )
    return FileOutcome(**d)


def _geography_from_json(rows: list[dict[str, Any]]) -> pa.Table:
    for r in rows:
        for k in ("valid_from", "valid_to"):
            if r.get(k):
                r[k] = date.fromisoformat(r[k])
    schema = GEOGRAPHY_SCHEMA.append(pa.field("source_file", pa.string()))
    return pa.Table.from_pylist(rows, schema=schema)


def run_spark_stage(
    settings: Settings,
    product: Product,
    groups: dict[int, list[RawInput]],
    dirty: set[Quarter],
    tmp_root: Path,
    *,
    spark_master: str,
    session: Any = None,
    window: Window | None = None,
) -> SparkStageOutput:
    """Run the per-station staging for ``groups`` on Spark; write the dirty quarters under ``tmp_root/spark``.

    ``window`` (``worker.parse_window``): parse only those hours of each file, as the embedded path does.

    ``groups`` maps station id → its ``RawInput`` list (as planned by the driver). Returns the per-file
    outcomes and location tables for the driver to quarantine and record.
    """
    from pyspark import StorageLevel  # lazy: pyspark is an optional extra

    spark = session or spark_session(settings, spark_master)
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    out_root = Path(tmp_root) / SPARK_OUT
    schema = _output_arrow_schema(product)
    tasks = [(sid, json.dumps([asdict(i) for i in items])) for sid, items in groups.items()]
    if not tasks:
        return SparkStageOutput([], [], out_root, [])
    dirty_keys = frozenset((q.year, q.quarter) for q in dirty)
    raw_store = settings.raw_store_url
    raw_options = raw_store_options(settings)
    max_bytes = settings.ingest.max_uncompressed_bytes

    def stage_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            sids = batch.column(0).to_pylist()
            files = batch.column(1).to_pylist()
            for sid, fj in zip(sids, files, strict=True):
                yield from _station_batches(
                    product, raw_store, raw_options, int(sid), fj, dirty_keys, max_bytes, schema, window
                )

    # One slice per core: each Python worker pays the import of pyarrow/our parser once.
    n_slices = max(1, min(len(tasks), spark.sparkContext.defaultParallelism))
    tasks_df = spark.createDataFrame(tasks, "station_id int, files string").repartition(n_slices)
    result = tasks_df.mapInArrow(stage_partition, _spark_ddl(schema)).persist(StorageLevel.DISK_ONLY)
    try:
        side = result.where(f"{SIDE_KIND} IS NOT NULL").select(SIDE_KIND, SIDE_INFO, "station_id").collect()
        data = result.where(f"{SIDE_KIND} IS NULL").drop(SIDE_KIND, SIDE_INFO)
        # Sorted within each output file by station and hour, as the DuckDB path writes them.
        (
            data.repartition("year", "quarter")
            .sortWithinPartitions("station_id", "ts")
            .write.mode("overwrite")
            .partitionBy("year", "quarter")
            .parquet(str(out_root))
        )
    finally:
        result.unpersist()
    outcomes = [_outcome_from_json(json.loads(r[SIDE_INFO])) for r in side if r[SIDE_KIND] == "file"]
    geography = [_geography_from_json(json.loads(r[SIDE_INFO])) for r in side if r[SIDE_KIND] == "geo"]
    not_written = [
        (int(r["station_id"]), Quarter(d["year"], d["quarter"]), int(d["rows"]))
        for r in side
        if r[SIDE_KIND] == "left"
        for d in [json.loads(r[SIDE_INFO])]
    ]
    log.info("stage.spark.done", product=product.name, stations=len(tasks), files=len(outcomes))
    return SparkStageOutput(outcomes, geography, out_root, not_written)
