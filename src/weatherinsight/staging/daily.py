"""Staging a daily product (``climate/daily/kl``, issue #17): raw ``tageswerte_*`` zips → staged daily Parquet.

The staged table has one row per station and DWD day (``Product.staged_schema`` of a daily product:
station_id, date, each quality column with its values, source_period, source_file), partitioned like the
hourly products: ``<staged_dir>/<product>/year=YYYY/quarter=Q/``. The hourly products' rules, on days:

* precedence — inside a historical file's range (first to last day) only that file's rows count; the
  current recent file fills the days after it (older releases kept in ``_history/`` are not read: a daily
  recent file always holds the whole recent window);
* a zip that is not a readable daily produkt file is quarantined (``staging.quarantine``) and named in the
  result; the other stations are staged;
* each quarter is a staged dataset version (``warehouse.lineage``) whose fingerprint is its files' sha256s;
  an unchanged quarter is left as it is; a changed one is written to a temporary directory, swapped in
  atomically and published in one transaction, so a failed attempt leaves no version behind;
* memory (issue #19): stations are parsed one after another in station order, each merged and its rows
  appended per quarter to a ``PartitionSetWriter`` (bounded buffers), so one station's tables are held at
  once, never every station's rows; the partitions come out sorted by station and day as before;
* the no-op re-run (issue #19): when the inventory (hash cache: unchanged files are not re-read) equals the
  last successful run's (``staging.daily_state``) and every wanted quarter with rows has its AVAILABLE
  version with the fingerprint the state gives and its partition, no zip is opened; anything else parses all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePosixPath

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from weatherinsight.dwd.daily import parse_daily_produkt
from weatherinsight.dwd.files import PRODUKT_PREFIX, SafeZip, parse_zip_name
from weatherinsight.dwd.products import DAILY_KL, Product
from weatherinsight.errors import DwdFormatError
from weatherinsight.logs import get_logger
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.staging.daily_state import DailyState, daily_state_path, inputs_key, load_daily_state
from weatherinsight.staging.inventory import Inventory, RawInput, group_by_station, list_for_run
from weatherinsight.staging.quarantine import quarantine
from weatherinsight.staging.record import raw_parents
from weatherinsight.staging.state import fingerprint
from weatherinsight.storage.raw import raw_filesystem
from weatherinsight.storage.staged import ROW_GROUP_ROWS, PartitionSetWriter, partition_dir, replace_partition
from weatherinsight.warehouse import db, lineage, locks

log = get_logger(__name__)
KIND = "staged"
#: Daily rows buffered over all open quarters before the largest is flushed (a KL row is ~20 columns wide).
MAX_BUFFERED_DAILY_ROWS = ROW_GROUP_ROWS


@dataclass
class DailyStageResult:
    """What one ``stage_daily`` run did."""

    product: str
    files_parsed: int = 0
    #: ``<file>: <reason>`` of every quarantined zip
    quarantined: list[str] = field(default_factory=list)
    #: quarter → rows of every quarter written by this run
    rows_by_quarter: dict[str, int] = field(default_factory=dict)
    #: quarter → its AVAILABLE staged version after the run (new or unchanged)
    versions: dict[str, str] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)


def _read(settings: Settings, product: Product, item: RawInput) -> pa.Table:
    """One stored zip's produkt member parsed, with the provenance columns; ``DwdFormatError`` when bad."""
    name = parse_zip_name(item.file_name)
    if name.product.name != product.name:
        raise DwdFormatError(item.file_name, f"a {name.product.name} zip among the {product.name} files")
    fs, _ = raw_filesystem(settings)
    archive = SafeZip(
        fs.cat_file(item.path),
        file_name=item.file_name,
        max_uncompressed_bytes=settings.ingest.max_uncompressed_bytes,
    )
    try:
        members = [n for n in archive.names() if PurePosixPath(n).name.startswith(PRODUKT_PREFIX)]
        if len(members) != 1:
            raise DwdFormatError(
                item.file_name, f"expected exactly one produkt_*.txt member, found {len(members)}"
            )
        table = parse_daily_produkt(archive.read(members[0]), file_name=f"{item.file_name}:{members[0]}")
    finally:
        archive.close()
    station = table.column("station_id")[0].as_py()
    if station != name.station_id:
        raise DwdFormatError(
            f"{item.file_name}:{members[0]}",
            f"data are for station {station}, the zip name says {name.station_id}",
        )
    n = table.num_rows
    return table.append_column("source_period", pa.array([item.period] * n, pa.string())).append_column(
        "source_file", pa.array([item.file_name] * n, pa.string())
    )


def merge_station(tables: Iterable[pa.Table]) -> pa.Table:
    """One station's files → one row per day: historical files claim their whole day range first."""
    ranked = sorted(tables, key=lambda t: (t.column("source_period")[0].as_py() != "historical", t.num_rows))
    kept: list[pa.Table] = []
    claimed: list[tuple[date, date]] = []
    for t in ranked:
        days = t.column("date")
        mask = np.ones(t.num_rows, dtype=bool)
        for first, last in claimed:
            inside = pc.and_(pc.greater_equal(days, first), pc.less_equal(days, last))
            mask &= ~inside.to_numpy(zero_copy_only=False)
        kept.append(t.filter(pa.array(mask)))
        claimed.append((days[0].as_py(), days[-1].as_py()))
    return pa.concat_tables(kept).sort_by([("date", "ascending")])


def _quarter_of(days: pa.ChunkedArray) -> np.ndarray:
    """Per row, ``year * 10 + quarter`` of its day."""
    year = pc.year(days).to_numpy()
    return np.asarray(year * 10 + (pc.month(days).to_numpy() - 1) // 3 + 1)


def stage_daily(
    settings: Settings, product: Product = DAILY_KL, *, quarters: Iterable[Quarter] | None = None
) -> DailyStageResult:
    """Stage every quarter the daily product's raw files cover (or only ``quarters``); see the module doc."""
    if not product.daily:
        raise ValueError(f"{product.name} is not a daily product; use staging.stage_product")
    with locks.exclusive(settings, f"stage:{product.name}"):
        return _stage_locked(settings, product, set(quarters) if quarters is not None else None)


def _stage_locked(settings: Settings, product: Product, wanted: set[Quarter] | None) -> DailyStageResult:
    result = DailyStageResult(product.name)
    inventory = list_for_run(settings, product)  # the hash cache: unchanged files are not read again
    sql = db.get_engine(settings.database_url)
    db.ensure_schema(sql)
    state_file = daily_state_path(settings.staged_dir, product.name)
    if _unchanged(settings, product, inventory, load_daily_state(state_file), wanted, result):
        log.info("stage_daily.unchanged", product=product.name, quarters=len(result.versions))
        return result
    state = DailyState(inputs=inputs_key(inventory))
    for item in inventory.unrecognised:
        _quarantine(settings, product, item, "not a zip of this product", result, state)
    current = [i for i in inventory.inputs if not i.in_history]
    # Stream station after station (issue #19 memory): only one station's tables and the writer's bounded
    # buffers are held at once, never every station's rows (1.8 M rows at 500 stations peaked at 1.17 GiB).
    writer = PartitionSetWriter(
        settings.staged_dir, product.name, product.staged_schema, max_buffered_rows=MAX_BUFFERED_DAILY_ROWS
    )
    files_of: dict[Quarter, list[RawInput]] = defaultdict(list)
    try:
        for station, items in group_by_station(current).items():
            tables: list[pa.Table] = []
            parsed: list[RawInput] = []
            for item in items:
                try:
                    tables.append(_read(settings, product, item))
                except DwdFormatError as exc:
                    _quarantine(settings, product, item, str(exc), result, state)
                    continue
                result.files_parsed += 1
                parsed.append(item)
            if not tables:
                continue
            # One cast per station (text columns dictionary-encoded, the writer's form), not one per quarter.
            rows = merge_station(tables).cast(writer.memory_schema)
            del tables
            keys = _quarter_of(rows.column("date"))
            # The rows are sorted by day, so each quarter is one contiguous run: slice, do not filter.
            starts = [0, *(np.flatnonzero(np.diff(keys)) + 1).tolist()]
            ends = [*starts[1:], rows.num_rows]
            quarters = [Quarter(int(keys[a]) // 10, int(keys[a]) % 10) for a in starts]
            state.add_station(station, parsed, quarters)
            for q, a, b in zip(quarters, starts, ends, strict=True):
                if wanted is None or q in wanted:
                    writer.append(q, rows.slice(a, b - a))
                    files_of[q].extend(parsed)
        writer.close()
        for q in sorted(files_of):
            files = [(i.sha256, i.period, i.file_name) for i in files_of[q]]
            _publish_quarter(settings, product, q, writer, fingerprint(q, files), result)
    finally:
        writer.cleanup()
    state.save(state_file)  # only once every quarter is published: a failed run leaves the old state
    return result


def _quarantine(
    settings: Settings,
    product: Product,
    item: RawInput,
    reason: str,
    result: DailyStageResult,
    state: DailyState,
) -> None:
    quarantine(settings, product, item, reason)
    result.quarantined.append(f"{item.rel}: {reason}")
    state.quarantined.append([item.rel, reason])


def _unchanged(
    settings: Settings,
    product: Product,
    inventory: Inventory,
    state: DailyState | None,
    wanted: set[Quarter] | None,
    result: DailyStageResult,
) -> bool:
    """True (and ``result`` filled) when the last run's inputs are today's and its quarters are all in place.

    Then no zip is opened: every wanted quarter the inputs have rows in has its AVAILABLE version with the
    fingerprint the state gives and its partition directory. Anything else → False, and the run parses all.
    """
    if state is None or state.inputs != inputs_key(inventory):
        return False
    fingerprints = {q: fp for q, fp in state.fingerprints().items() if wanted is None or q in wanted}
    versions: dict[str, str] = {}
    with db.get_engine(settings.database_url).connect() as conn:
        for q, fp in fingerprints.items():
            current = lineage.find_available(conn, KIND, product.name, q)
            if current is None or current.input_fingerprint != fp:
                return False
            if not partition_dir(settings.staged_dir, product.name, q).is_dir():
                return False
            versions[str(q)] = current.version_name
    by_rel = {i.rel: i for i in inventory.everything}
    for rel, reason in state.quarantined:  # the same bad bytes: quarantined again, as a full run would
        quarantine(settings, product, by_rel[rel], reason)
        result.quarantined.append(f"{rel}: {reason}")
    result.versions = versions
    result.unchanged = list(versions)
    return True


def _publish_quarter(
    settings: Settings,
    product: Product,
    q: Quarter,
    writer: PartitionSetWriter,
    fp: str,
    result: DailyStageResult,
) -> None:
    """Publish one quarter written by ``writer`` in one transaction (or leave an unchanged one as it is)."""
    final = partition_dir(settings.staged_dir, product.name, q)
    rows = writer.rows[q]
    with db.get_engine(settings.database_url).begin() as conn:
        version = lineage.begin_version(
            conn, settings, KIND, product.name, q, fingerprint=fp, parents=raw_parents(conn, product, q, None)
        )
        if version.is_noop and final.is_dir():
            result.versions[str(q)] = version.version_name
            result.unchanged.append(str(q))
            return
        if version.is_noop:  # the partition was removed by hand: rebuild it as a new version
            version = lineage.begin_version(
                conn,
                settings,
                KIND,
                product.name,
                q,
                fingerprint=fp,
                parents=version.parent_versions,
                force=True,
            )
        replace_partition(writer.tmp_partition(q), final)
        lineage.publish_version(conn, version, row_count=rows)
    result.versions[str(q)] = version.version_name
    result.rows_by_quarter[str(q)] = rows
    log.info("stage_daily.quarter", product=product.name, quarter=str(q), version=version.version_name)
