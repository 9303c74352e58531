"""The ingestion service: DWD listings → verified raw files in the raw store, recorded in the database.

``ingest_product`` crawls ``<dwd_base_url>/<product>/{historical,recent}/``, fetches the station list and
every new or changed zip (conditional GET with the ETag/Last-Modified of the last fetch; unchanged bytes by
sha256 are not rewritten; historical zips limited to those overlapping the run's ``quarters`` if given, recent
ones always — one crawl and at most one GET per file however many quarters a backfill names), verifies each
body (zip integrity through the guarded reader, or a parseable station list) before committing it atomically,
and keeps older versions under ``_history/``. A stored file whose listing size and modified minute are those
recorded when it was last fetched or re-validated after that minute is not requested at all (the quick check,
``ingest.plan.listing_unchanged``; ``settings.ingest.quick_check`` false turns it off).

The rows it writes (``ingestion_runs``, ``raw_files``, raw dataset versions) are in ``ingest.record``.
Failures are collected per file and reported in the result; the run fails (:class:`RunFailedError`) only
when the share of failed files passes ``settings.ingest.max_failure_share`` or a listing cannot
be read, and then it names the files and why. An empty listing never deletes or marks anything gone.
Progress is reported as ``ProgressEvent``s: task ``<product> files`` (with its total) and ``<product> bytes``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed

from sqlalchemy import Engine

from weatherinsight.dwd.client import DwdClient
from weatherinsight.dwd.products import PERIODS, Product, get_product, listing_url
from weatherinsight.errors import DownloadError, RunFailedError, WeatherInsightError
from weatherinsight.ingest.fetch import Outcome, fetch_one
from weatherinsight.ingest.plan import Target, known_rows, listing_unchanged, select_entries
from weatherinsight.ingest.record import (
    abort_stale_runs,
    finish_run,
    flush,
    publish_raw_versions,
    start_run,
)
from weatherinsight.ingest.result import FAILED, LISTING, PARTIAL, SUCCEEDED, FileFailure, IngestResult
from weatherinsight.logs import get_logger
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.storage import oserrors
from weatherinsight.storage.raw import RawStore
from weatherinsight.vocabulary import ProgressCallback, ProgressEvent, no_progress
from weatherinsight.warehouse import db, lineage, locks

log = get_logger(__name__)

#: Stored files are recorded in batches (one commit each) of this many, or after this many seconds.
_RECORD_BATCH = 100
_RECORD_SECONDS = 2.0


def _plan(
    settings: Settings,
    http: DwdClient,
    store: RawStore,
    engine: Engine,
    prod: Product,
    periods: tuple[str, ...],
    station_set: set[int] | None,
    quarters: tuple[Quarter, ...] | None,
    result: IngestResult,
) -> tuple[list[Target], bool]:
    """Read each period's listing and pick the files to fetch, with the row each already has and whether the
    listing alone shows it unchanged (``settings.ingest.quick_check``).

    Returns the targets and whether a listing could not be read; failed listings and empty ones are noted
    in ``result`` (an empty listing never deletes or marks anything gone)."""
    targets: list[Target] = []
    listing_failed = False
    for per in periods:
        url = listing_url(settings.dwd_base_url, prod, per)
        try:
            entries = http.list_directory(url)
        except DownloadError as exc:
            listing_failed = True
            result.failures.append(FileFailure(per, LISTING, url, str(exc)))
            log.error("ingest.listing_failed", url=url, error=str(exc))
            continue
        chosen, ignored = select_entries(prod, per, entries, station_set, quarters)
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
            known = known_rows(conn, prod, per)
        for entry, zn in chosen:
            row = known.get(entry.name)
            if row is not None and not store.exists(prod.name, per, entry.name):
                row = None  # the DB remembers a file the store lost: fetch it unconditionally
            quick = settings.ingest.quick_check and listing_unchanged(entry, row)
            targets.append(Target(per, entry, zn, row, listed_unchanged=quick))
    return targets, listing_failed


def ingest_product(
    settings: Settings,
    product: str,
    *,
    period: str = "all",
    stations: Iterable[int] | None = None,
    quarter: Quarter | None = None,
    quarters: Sequence[Quarter] | None = None,
    progress: ProgressCallback = no_progress,
    client: DwdClient | None = None,
) -> IngestResult:
    """Fetch every new or changed file of ``product`` into the raw store and record the run (see module doc).

    ``period`` is ``recent``, ``historical`` or ``all``; ``stations`` limits the zips (the station list is
    always fetched); ``quarter`` (or several: ``quarters``, e.g. a backfill's) limits historical zips to those
    overlapping one of them, and the raw versions published to theirs — each quarter's version is the one a
    run for that quarter alone publishes. Without either, every file is fetched and every touched quarter
    gets its version.
    ``progress`` receives a ``ProgressEvent`` per file done and per downloaded body (bytes).
    Raises :class:`RunFailedError` when the failure share passes the configured maximum.
    """
    prod = get_product(product)
    if period not in (*PERIODS, "all"):
        raise ValueError(f"period must be one of {', '.join((*PERIODS, 'all'))}, not {period!r}")
    wanted = _wanted(quarter, quarters)
    # One ingest per product at a time: a second run waits, then finds the files unchanged (quick check or
    # conditional GETs).
    with locks.exclusive(settings, f"ingest:{prod.name}"):
        return _ingest_locked(settings, prod, period, stations, wanted, progress, client)


def _wanted(quarter: Quarter | None, quarters: Sequence[Quarter] | None) -> tuple[Quarter, ...] | None:
    """The distinct quarters of ``quarter`` and ``quarters``, oldest first; None when neither is given."""
    if quarters is not None and not quarters:
        raise ValueError("quarters must name at least one quarter (or be None for every quarter)")
    if quarter is None and quarters is None:
        return None
    return tuple(sorted({*(quarters or ()), *((quarter,) if quarter is not None else ())}))


def _ingest_locked(
    settings: Settings,
    prod: Product,
    period: str,
    stations: Iterable[int] | None,
    quarters: tuple[Quarter, ...] | None,
    progress: ProgressCallback,
    client: DwdClient | None,
) -> IngestResult:
    """``ingest_product`` under the product's ingest lock."""
    periods = PERIODS if period == "all" else (period,)
    station_set = set(stations) if stations is not None else None
    cfg = settings.ingest
    started = time.perf_counter()

    engine = db.get_engine(settings.database_url)
    db.ensure_schema(engine)
    with engine.begin() as conn:
        aborted = abort_stale_runs(conn, prod)
        aborted += [f"raw version {v}" for v in lineage.abort_pending(conn, "raw", prod.name)]
        run_id = start_run(conn, prod, period)
    result = IngestResult(run_id=run_id, product=prod.name, period=period, aborted_runs=aborted)
    if aborted:
        log.warning("ingest.stale_runs_aborted", product=prod.name, runs=aborted)
        result.warnings.append(f"marked {len(aborted)} stale run(s) aborted: " + "; ".join(aborted))
    log.info("ingest.start", product=prod.name, period=period, run_id=run_id, base_url=settings.dwd_base_url)

    store = RawStore.from_settings(settings)
    own_client = client is None
    http = client or DwdClient.from_settings(settings)
    listing_failed = False
    pending: list[Outcome] = []  # stored files not yet recorded (recorded in batches: one commit per batch)
    last_flush = time.perf_counter()
    try:
        targets, listing_failed = _plan(
            settings, http, store, engine, prod, periods, station_set, quarters, result
        )
        result.files_listed = len(targets)
        # Unchanged by the listing alone: no request, nothing to record (their rows already say so).
        result.files_quick_checked = sum(t.listed_unchanged for t in targets)
        result.files_unchanged += result.files_quick_checked

        files_task, bytes_task = f"{prod.name} files", f"{prod.name} bytes"
        progress(ProgressEvent(files_task, total=len(targets)))
        if result.files_quick_checked:
            progress(ProgressEvent(files_task, advance=result.files_quick_checked))
        with ThreadPoolExecutor(max_workers=http.concurrency) as pool:
            futures: dict[Future[Outcome], Target] = {
                pool.submit(fetch_one, http, store, prod, t, cfg.max_uncompressed_bytes): t
                for t in targets
                if not t.listed_unchanged
            }
            for fut in as_completed(futures):
                t = futures[fut]
                try:
                    out = fut.result()
                except (WeatherInsightError, OSError) as exc:
                    if isinstance(exc, OSError) and oserrors.is_storage_failure(exc):
                        # The raw store cannot take writes: every next file would fail the same way.
                        for other in futures:
                            other.cancel()
                        result.failures.append(FileFailure(t.period, t.entry.name, t.entry.url, str(exc)))
                        result.files_failed += 1
                        raise oserrors.storage_error(
                            exc,
                            settings.raw_store_url,
                            event="ingest.storage_error",
                            hint="free space or fix permissions in the raw store, then re-run "
                            "`weatherinsight ingest`; the files stored before are kept",
                        ) from exc
                    result.failures.append(FileFailure(t.period, t.entry.name, t.entry.url, str(exc)))
                    result.files_failed += 1
                    log.warning("ingest.file_failed", file=t.entry.name, error=str(exc))
                    progress(ProgressEvent(files_task, advance=1))
                    continue
                pending.append(out)
                if len(pending) >= _RECORD_BATCH or time.perf_counter() - last_flush > _RECORD_SECONDS:
                    flush(engine, prod, run_id, pending)
                    last_flush = time.perf_counter()
                result.bytes_downloaded += out.downloaded
                if out.outcome == "new":
                    result.files_new += 1
                elif out.outcome == "changed":
                    result.files_changed += 1
                else:
                    result.files_unchanged += 1
                progress(ProgressEvent(files_task, advance=1))
                if out.downloaded:
                    progress(ProgressEvent(bytes_task, advance=out.downloaded))

        flush(engine, prod, run_id, pending)
        too_many = result.failure_share > cfg.max_failure_share
        if listing_failed or too_many:
            result.status = FAILED
        elif result.failures:
            result.status = PARTIAL
        else:
            result.status = SUCCEEDED
        if result.status != FAILED:
            with engine.begin() as conn:
                result.raw_version_of = publish_raw_versions(conn, settings, prod, quarters)
    except BaseException as exc:
        result.status = FAILED
        result.warnings.append(f"run aborted: {exc!r}")
        raise
    finally:
        if pending:  # an aborted run still records every file it stored
            flush(engine, prod, run_id, pending)
        result.seconds = time.perf_counter() - started
        with engine.begin() as conn:
            finish_run(conn, result)
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
            quick_checked=result.files_quick_checked,
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
