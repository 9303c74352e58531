"""The SQL of ingestion: rows of ``ingestion_runs`` and ``raw_files``, and the raw dataset versions.

Every run is a row in ``ingestion_runs``; every stored file version a row in ``raw_files`` (the previous row
of a replaced file becomes ``superseded``). The raw dataset version ``<YEAR>Q<Q>_raw_v<N>`` of each quarter the
files touch is begun and published through ``warehouse.lineage`` (unchanged inputs → no-op).
"""

from __future__ import annotations

import hashlib
import os
import socket
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, and_, insert, select, update

from weatherinsight.dwd.products import Product
from weatherinsight.ingest.dating import file_data_range
from weatherinsight.ingest.fetch import Outcome
from weatherinsight.ingest.plan import aware
from weatherinsight.ingest.result import ABORTED, RUNNING, IngestResult
from weatherinsight.quarters import Quarter, quarters_between
from weatherinsight.settings import Settings
from weatherinsight.storage.raw import RawStore
from weatherinsight.warehouse import lineage
from weatherinsight.warehouse.tables import ingestion_runs, raw_files


def _now() -> datetime:
    return datetime.now(UTC)


def start_run(conn: Connection, product: Product, period: str) -> int:
    """Insert the ``running`` row of a new run (with this host and pid); its id."""
    run_id = conn.execute(
        insert(ingestion_runs)
        .values(
            product=product.name,
            period=period,
            started_at=_now(),
            status=RUNNING,
            host=socket.gethostname()[:255],
            pid=os.getpid(),
        )
        .returning(ingestion_runs.c.id)
    ).scalar_one()
    return int(run_id)


def abort_stale_runs(conn: Connection, product: Product) -> list[str]:
    """Mark every ``running`` run of ``product`` ``aborted``; one description per run.

    Call it only while holding the product's ingest lock (``warehouse.locks``): a live run holds that lock
    for its whole life, so any other ``running`` row of the product belongs to a process that was killed.
    """
    ir = ingestion_runs.c
    stale = conn.execute(
        select(ir.id, ir.started_at, ir.host, ir.pid).where(ir.product == product.name, ir.status == RUNNING)
    ).all()
    out: list[str] = []
    for row in stale:
        started = aware(row.started_at)
        who = f"{row.host or '?'} pid {row.pid if row.pid is not None else '?'}"
        desc = f"run {row.id} started {started.isoformat() if started else '?'} by {who}"
        conn.execute(
            update(ingestion_runs)
            .where(ir.id == row.id, ir.status == RUNNING)
            .values(
                status=ABORTED,
                finished_at=_now(),
                error_summary="aborted: the process ended without finishing the run (killed or crashed); "
                "found by the next run of the product",
            )
        )
        out.append(desc)
    return out


def finish_run(conn: Connection, result: IngestResult) -> None:
    """Write the final status and counts of a run."""
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


def record_file(conn: Connection, product: Product, run_id: int, out: Outcome) -> None:
    """Insert the raw_files row of a stored version; a replaced version's row becomes ``superseded``."""
    t = out.target
    rf = raw_files.c
    if out.outcome == "unchanged" and t.known is None and out.sha256 is not None:
        # The store already held these bytes but the database had no row (e.g. a run died between writing
        # the file and recording it): record it now, as the current version.
        out = Outcome(
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
    same = conn.execute(
        select(rf.id).where(current_row, rf.sha256 == out.sha256, rf.storage_path == out.storage_path)
    ).first()
    if same is not None:
        # Already recorded (a retried flush, or a run that stored the same bytes first): refresh, never duplicate.
        conn.execute(
            update(raw_files).where(rf.id == same.id).values(etag=out.etag, last_modified=out.last_modified)
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


def flush(engine: Engine, product: Product, run_id: int, pending: list[Outcome]) -> None:
    """Record the stored files of ``pending`` in one transaction and empty the list."""
    if not pending:
        return
    with engine.begin() as conn:
        for out in pending:
            record_file(conn, product, run_id, out)
    pending.clear()


def publish_raw_versions(
    conn: Connection, settings: Settings, product: Product, quarter: Quarter | None
) -> list[str]:
    """Begin/publish ``<YEAR>Q<Q>_raw_v<N>`` for every quarter the current raw files' data touch (or just
    ``quarter``); a file's days come from its name or its produkt member (``ingest.dating``), not from today.

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
    store = RawStore.from_settings(settings)
    by_quarter: dict[Quarter, list[str]] = {}
    for row in rows:
        span = file_data_range(store, product.name, row)
        if span is None:
            continue
        for q in quarters_between(*span):
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
