"""The ingestion service: DWD listings → verified raw files in the raw store, recorded in the database.

``ingest_product`` crawls ``<dwd_base_url>/<product>/{historical,recent}/``, fetches the station list and
every new or changed zip (conditional GET with the ETag/Last-Modified of the last fetch; unchanged bytes by
sha256 are not rewritten), verifies each body (zip integrity through the guarded reader, or a parseable
station list) before committing it atomically, and keeps older versions under ``_history/``.

Every run is a row in ``ingestion_runs``; every stored file version a row in ``raw_files`` (the previous
row of a replaced file becomes ``superseded``). The raw dataset version ``<YEAR>Q<Q>_raw_v<N>`` of each
quarter the files touch is begun and published through ``warehouse.lineage`` (unchanged inputs → no-op).

Failures are collected per file and printed; the run fails (:class:`RunFailedError`) only when the share
of failed files passes ``settings.ingest.max_failure_share`` or a listing cannot be read, and
then it names the files and why. An empty listing never deletes or marks anything gone.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy import Connection, and_, insert, select, update

from weatherinsight.dwd.client import DwdClient, RemoteEntry, format_http_date
from weatherinsight.dwd.files import ZipName, parse_zip_name, read_zip_members
from weatherinsight.dwd.products import PERIODS, Product, get_product
from weatherinsight.dwd.stations import parse_station_list
from weatherinsight.errors import DownloadError, DwdFormatError, RunFailedError, WeatherInsightError
from weatherinsight.logs import get_logger
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.storage.raw import RawStore
from weatherinsight.warehouse import db, lineage
from weatherinsight.warehouse.tables import ingestion_runs, raw_files

log = get_logger(__name__)

RUNNING, SUCCEEDED, PARTIAL, FAILED = "running", "succeeded", "partial", "failed"
#: A recent file holds the 550 days before its release (FORMAT §1.1); one spare day for the release lag.
RECENT_SPAN = timedelta(days=551)
_MAX_SUMMARY_LINES = 50
LISTING = "(listing)"
#: Stored files are recorded in batches (one commit each) of this many, or after this many seconds.
_RECORD_BATCH = 100
_RECORD_SECONDS = 2.0


@dataclass(frozen=True)
class FileFailure:
    """One file (or listing) that could not be ingested, and why."""

    period: str
    file_name: str
    url: str
    reason: str


@dataclass
class IngestResult:
    """What one ``ingest_product`` run did."""

    run_id: int
    product: str
    period: str
    status: str = RUNNING
    files_listed: int = 0
    files_new: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    files_failed: int = 0
    bytes_downloaded: int = 0
    failures: list[FileFailure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    raw_versions: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failure_share(self) -> float:
        return self.files_failed / self.files_listed if self.files_listed else 0.0

    def error_summary(self) -> str | None:
        lines = [f"{f.period}/{f.file_name}: {f.reason}" for f in self.failures[:_MAX_SUMMARY_LINES]]
        if len(self.failures) > _MAX_SUMMARY_LINES:
            lines.append(f"… and {len(self.failures) - _MAX_SUMMARY_LINES} more")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines) or None


@dataclass(frozen=True)
class _Target:
    period: str
    entry: RemoteEntry
    zip_name: ZipName | None  # None for the station list
    known: dict[str, Any] | None  # the current raw_files row, if the store still has the file


@dataclass(frozen=True)
class _Outcome:
    target: _Target
    outcome: str  # new | changed | unchanged
    size: int
    sha256: str | None
    etag: str | None
    last_modified: datetime | None
    storage_path: str | None
    downloaded: int


def _now() -> datetime:
    return datetime.now(UTC)


def _verifier(name: str, max_bytes: int, is_zip: bool) -> Callable[[bytes], None]:
    """The check a body must pass before it is stored: an intact zip with a produkt member (every member is
    inflated, so CRCs are checked, behind the zip-bomb guard), or a station list that parses."""

    def verify(data: bytes) -> None:
        if not data:
            raise DwdFormatError(name, "empty body")
        if is_zip:
            members = read_zip_members(data, file_name=name, max_uncompressed_bytes=max_bytes)  # CRCs checked
            if not any(m.startswith("produkt_") for m in members):
                raise DwdFormatError(name, "zip holds no produkt_*.txt member")
        else:
            parse_station_list(data, file_name=name)

    return verify


def _select(
    product: Product,
    period: str,
    entries: list[RemoteEntry],
    stations: set[int] | None,
    quarter: Quarter | None,
) -> tuple[list[tuple[RemoteEntry, ZipName | None]], list[str]]:
    """The listing entries this run fetches, plus the names it ignored (other products, unknown files)."""
    chosen: list[tuple[RemoteEntry, ZipName | None]] = []
    ignored: list[str] = []
    for e in entries:
        if e.is_dir:
            continue
        if e.name == product.station_list_name:
            chosen.append((e, None))
            continue
        if not e.name.endswith(".zip"):
            ignored.append(e.name)
            continue
        try:
            zn = parse_zip_name(e.name)
        except DwdFormatError:
            ignored.append(e.name)
            continue
        if zn.product.code != product.code or zn.period != period:
            ignored.append(e.name)
            continue
        if stations is not None and zn.station_id not in stations:
            continue
        outside = (
            quarter is not None
            and zn.start is not None
            and zn.end is not None
            and (zn.end < quarter.start.date() or zn.start >= quarter.end.date())
        )
        if outside:
            continue
        chosen.append((e, zn))
    return chosen, ignored


def _known_rows(conn: Connection, product: Product, period: str) -> dict[str, dict[str, Any]]:
    rf = raw_files.c
    rows = conn.execute(
        select(raw_files)
        # A quarantined file (bad bytes, set by staging) keeps its validators: the same bytes are not fetched
        # and recorded as "current" again; a new version from DWD still arrives through the conditional GET.
        .where(rf.product == product.name, rf.period == period, rf.status.in_(("current", "quarantined")))
        .order_by(rf.id)
    ).mappings()
    return {r["file_name"]: dict(r) for r in rows}  # later ids win


def _aware(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _fetch_one(
    client: DwdClient, store: RawStore, product: Product, target: _Target, max_bytes: int
) -> _Outcome:
    known = target.known
    etag = known["etag"] if known else None
    lm = _aware(known["last_modified"]) if known else None
    verify = _verifier(target.entry.name, max_bytes, target.zip_name is not None)
    fetched = client.fetch(
        target.entry.url, etag=etag, last_modified=format_http_date(lm) if lm else None, verify=verify
    )
    if fetched.not_modified:
        return _Outcome(target, "unchanged", known["size"] if known else 0, None, etag, lm, None, 0)
    assert fetched.content is not None
    committed = store.commit(product.name, target.period, target.entry.name, fetched.content)
    return _Outcome(
        target,
        committed.outcome,
        committed.size,
        committed.sha256,
        fetched.etag,
        fetched.last_modified_at,
        store.display(committed.path),
        len(fetched.content),
    )


def _record_file(conn: Connection, product: Product, run_id: int, out: _Outcome) -> None:
    """Insert the raw_files row of a stored version; a replaced version's row becomes ``superseded``."""
    t = out.target
    rf = raw_files.c
    if out.outcome == "unchanged" and t.known is None and out.sha256 is not None:
        # The store already held these bytes but the database had no row (e.g. a run died between writing
        # the file and recording it): record it now, as the current version.
        out = _Outcome(
            t, "new", out.size, out.sha256, out.etag, out.last_modified, out.storage_path, out.downloaded
        )
    current_row = and_(
        rf.product == product.name,
        rf.period == t.period,
        rf.file_name == t.entry.name,
        rf.status == "current",
    )
    if out.outcome == "unchanged":
        if out.sha256 is None:
            return  # 304: nothing new to record
        # Same bytes under a new ETag (e.g. the file was touched): refresh the validators of the current row.
        conn.execute(
            update(raw_files).where(current_row).values(etag=out.etag, last_modified=out.last_modified)
        )
        return
    conn.execute(update(raw_files).where(current_row).values(status="superseded"))
    conn.execute(
        insert(raw_files).values(
            url=t.entry.url,
            product=product.name,
            period=t.period,
            file_name=t.entry.name,
            station_id=t.zip_name.station_id if t.zip_name else None,
            size=out.size,
            last_modified=out.last_modified,
            etag=out.etag,
            sha256=out.sha256,
            storage_path=out.storage_path,
            fetched_at=_now(),
            ingestion_run_id=run_id,
            status="current",
        )
    )


def _flush(engine: Any, product: Product, run_id: int, pending: list[_Outcome]) -> None:
    """Record the stored files of ``pending`` in one transaction and empty the list."""
    if not pending:
        return
    with engine.begin() as conn:
        for out in pending:
            _record_file(conn, product, run_id, out)
    pending.clear()


def _file_range(row: dict[str, Any]) -> tuple[date, date] | None:
    """The days a stored zip can hold: from the name (historical) or the 550 days before its release (recent)."""
    try:
        zn = parse_zip_name(row["file_name"])
    except DwdFormatError:
        return None
    if zn.start is not None and zn.end is not None:
        return zn.start, zn.end
    released = _aware(row["last_modified"]) or _aware(row["fetched_at"]) or _now()
    return (released - RECENT_SPAN).date(), released.date()


def _quarters_between(first: date, last: date) -> list[Quarter]:
    q, end = Quarter.of(first), Quarter.of(last)
    out = [q]
    while out[-1] < end:
        out.append(out[-1].next())
    return out


def _publish_raw_versions(
    conn: Connection, settings: Settings, product: Product, quarter: Quarter | None
) -> list[str]:
    """Begin/publish ``<YEAR>Q<Q>_raw_v<N>`` for every quarter the current raw files touch (or just ``quarter``).

    The fingerprint of a quarter is the sha256 over (period, file name, sha256) of the current files whose
    range touches it, so an unchanged quarter is a no-op and a new release yields the next version.
    """
    rf = raw_files.c
    rows = [
        dict(r)
        for r in conn.execute(
            select(raw_files).where(
                rf.product == product.name, rf.status == "current", rf.station_id.is_not(None)
            )
        ).mappings()
    ]
    by_quarter: dict[Quarter, list[str]] = {}
    for row in rows:
        span = _file_range(row)
        if span is None:
            continue
        for q in _quarters_between(*span):
            if quarter is None or q == quarter:
                by_quarter.setdefault(q, []).append(f"{row['period']}/{row['file_name']}:{row['sha256']}")
    names: list[str] = []
    for q in sorted(by_quarter):
        items = sorted(by_quarter[q])
        fingerprint = hashlib.sha256("\n".join(items).encode()).hexdigest()
        version = lineage.begin_version(conn, settings, "raw", product.name, q, fingerprint=fingerprint)
        if not version.is_noop:
            version = lineage.publish_version(conn, version, row_count=len(items))
        names.append(version.version_name)
    return names


def _progress(enabled: bool, console: Console | None) -> Progress:
    return Progress(
        TextColumn("[bold]ingest[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files · {task.fields[mb]:.1f} MB"),
        TimeElapsedColumn(),
        disable=not enabled,
        console=console,
    )


def summary_table(result: IngestResult) -> Table:
    """The run summary (counts), plus one row per failed file, as a Rich table."""
    table = Table(title=f"ingest {result.product} ({result.period}) — run {result.run_id}: {result.status}")
    for col in ("listed", "new", "changed", "unchanged", "failed", "MB downloaded", "seconds"):
        table.add_column(col, justify="right")
    table.add_row(
        str(result.files_listed),
        str(result.files_new),
        str(result.files_changed),
        str(result.files_unchanged),
        str(result.files_failed),
        f"{result.bytes_downloaded / 1e6:.2f}",
        f"{result.seconds:.1f}",
    )
    return table


def failures_table(result: IngestResult) -> Table:
    table = Table(title="failed files")
    table.add_column("period")
    table.add_column("file")
    table.add_column("reason")
    for f in result.failures:
        table.add_row(f.period, f.file_name, f.reason)
    return table


def _start_run(conn: Connection, product: Product, period: str) -> int:
    run_id = conn.execute(
        insert(ingestion_runs)
        .values(product=product.name, period=period, started_at=_now(), status=RUNNING)
        .returning(ingestion_runs.c.id)
    ).scalar_one()
    return int(run_id)


def _finish_run(conn: Connection, result: IngestResult) -> None:
    conn.execute(
        update(ingestion_runs)
        .where(ingestion_runs.c.id == result.run_id)
        .values(
            finished_at=_now(),
            status=result.status,
            files_listed=result.files_listed,
            files_new=result.files_new,
            files_changed=result.files_changed,
            files_unchanged=result.files_unchanged,
            files_failed=result.files_failed,
            bytes_downloaded=result.bytes_downloaded,
            error_summary=result.error_summary(),
        )
    )


def ingest_product(
    settings: Settings,
    product: str,
    *,
    period: str = "all",
    stations: Iterable[int] | None = None,
    quarter: Quarter | str | None = None,
    progress: bool = True,
    client: DwdClient | None = None,
    console: Console | None = None,
) -> IngestResult:
    """Fetch every new or changed file of ``product`` into the raw store and record the run (see module doc).

    ``period`` is ``recent``, ``historical`` or ``all``; ``stations`` limits the zips (the station list is
    always fetched); ``quarter`` limits historical zips to those overlapping it and names the raw version.
    Raises :class:`RunFailedError` when the failure share passes the configured maximum.
    """
    prod = get_product(product)
    if period not in (*PERIODS, "all"):
        raise ValueError(f"period must be one of {', '.join((*PERIODS, 'all'))}, not {period!r}")
    periods = PERIODS if period == "all" else (period,)
    q = Quarter.parse(quarter) if isinstance(quarter, str) else quarter
    station_set = set(stations) if stations is not None else None
    cfg = settings.ingest
    started = time.perf_counter()

    engine = db.get_engine(settings.database_url)
    db.ensure_schema(engine)
    with engine.begin() as conn:
        run_id = _start_run(conn, prod, period)
    result = IngestResult(run_id=run_id, product=prod.name, period=period)
    log.info("ingest.start", product=prod.name, period=period, run_id=run_id, base_url=settings.dwd_base_url)

    store = RawStore.from_settings(settings)
    own_client = client is None
    http = client or DwdClient.from_settings(settings)
    listing_failed = False
    pending: list[_Outcome] = []  # stored files not yet recorded (recorded in batches: one commit per batch)
    last_flush = time.perf_counter()
    try:
        targets: list[_Target] = []
        for per in periods:
            url = f"{settings.dwd_base_url}{prod.directory}/{per}/"
            try:
                entries = http.list_directory(url)
            except DownloadError as exc:
                listing_failed = True
                result.failures.append(FileFailure(per, LISTING, url, str(exc)))
                log.error("ingest.listing_failed", url=url, error=str(exc))
                continue
            chosen, ignored = _select(prod, per, entries, station_set, q)
            if ignored:
                log.info("ingest.ignored", period=per, files=len(ignored), examples=ignored[:3])
            if not chosen:
                # Never treat an empty listing as "everything is gone": nothing is deleted or marked.
                result.warnings.append(
                    f"listing {url} named no {prod.code} files; nothing was deleted or marked gone"
                )
                log.warning("ingest.empty_listing", url=url)
                continue
            with engine.connect() as conn:
                known = _known_rows(conn, prod, per)
            for entry, zn in chosen:
                row = known.get(entry.name)
                if row is not None and not store.exists(prod.name, per, entry.name):
                    row = None  # the DB remembers a file the store lost: fetch it unconditionally
                targets.append(_Target(per, entry, zn, row))
        result.files_listed = len(targets)

        with _progress(progress, console) as bar, ThreadPoolExecutor(max_workers=http.concurrency) as pool:
            files_task = bar.add_task(prod.name, total=len(targets), mb=0.0)
            futures: dict[Future[_Outcome], _Target] = {
                pool.submit(_fetch_one, http, store, prod, t, cfg.max_uncompressed_bytes): t for t in targets
            }
            for fut in as_completed(futures):
                t = futures[fut]
                try:
                    out = fut.result()
                except (WeatherInsightError, OSError) as exc:
                    result.failures.append(FileFailure(t.period, t.entry.name, t.entry.url, str(exc)))
                    result.files_failed += 1
                    log.warning("ingest.file_failed", file=t.entry.name, error=str(exc))
                    bar.update(files_task, advance=1)
                    continue
                pending.append(out)
                if len(pending) >= _RECORD_BATCH or time.perf_counter() - last_flush > _RECORD_SECONDS:
                    _flush(engine, prod, run_id, pending)
                    last_flush = time.perf_counter()
                result.bytes_downloaded += out.downloaded
                if out.outcome == "new":
                    result.files_new += 1
                elif out.outcome == "changed":
                    result.files_changed += 1
                else:
                    result.files_unchanged += 1
                bar.update(files_task, advance=1, mb=result.bytes_downloaded / 1e6)

        _flush(engine, prod, run_id, pending)
        too_many = result.failure_share > cfg.max_failure_share
        if listing_failed or too_many:
            result.status = FAILED
        elif result.failures:
            result.status = PARTIAL
        else:
            result.status = SUCCEEDED
        if result.status != FAILED:
            with engine.begin() as conn:
                result.raw_versions = _publish_raw_versions(conn, settings, prod, q)
    except BaseException as exc:
        result.status = FAILED
        result.warnings.append(f"run aborted: {exc!r}")
        raise
    finally:
        if pending:  # an aborted run still records every file it stored
            _flush(engine, prod, run_id, pending)
        result.seconds = time.perf_counter() - started
        with engine.begin() as conn:
            _finish_run(conn, result)
        if own_client:
            http.close()
        log.info(
            "ingest.finish",
            product=prod.name,
            run_id=run_id,
            status=result.status,
            new=result.files_new,
            changed=result.files_changed,
            unchanged=result.files_unchanged,
            failed=result.files_failed,
            bytes=result.bytes_downloaded,
        )

    if result.status == FAILED:
        named = "; ".join(f"{f.period}/{f.file_name}: {f.reason}" for f in result.failures[:10])
        more = f" (+{len(result.failures) - 10} more)" if len(result.failures) > 10 else ""
        why = (
            "a directory listing could not be read"
            if listing_failed
            else f"{result.files_failed} of {result.files_listed} files failed "
            f"({result.failure_share:.1%} > max_failure_share {cfg.max_failure_share:.1%})"
        )
        error = RunFailedError(
            f"ingest of {prod.name} failed (run {run_id}): {why}: {named}{more}",
            hint="the files that did arrive are stored; re-run `weatherinsight ingest` to fetch the rest",
        )
        error.result = result  # type: ignore[attr-defined]  # the CLI prints the summary of a failed run
        raise error
    return result
