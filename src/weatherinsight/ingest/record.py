"""The SQL of ingestion: rows of ``ingestion_runs`` and ``raw_files``, and the raw dataset versions.

Every run is a row in ``ingestion_runs``; every stored file version a row in ``raw_files`` (the previous row
of a replaced file becomes ``superseded``; the row keeps the produkt member's name and days, learnt while
verifying the zip, for dating). The raw dataset version ``<YEAR>Q<Q>_raw_v<N>`` of each quarter the
files touch is begun and published through ``warehouse.lineage`` (unchanged inputs → no-op).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import socket
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update

from weatherinsight.dwd.products import Product
from weatherinsight.ingest import dating
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
            files_quick_checked=result.files_quick_checked,
            files_failed=result.files_failed,
            bytes_downloaded=result.bytes_downloaded,
            error_summary=result.error_summary(),
        )
    )


#: File names per ``IN (...)`` lookup: well under SQLite's bound-parameter limit.
_LOOKUP_CHUNK = 500


def _effective(out: Outcome) -> Outcome:
    """``out`` as it is to be recorded: bytes the store already held but the database had no row for (e.g. a
    run died between writing the file and recording it) are recorded now, as the current version."""
    if out.outcome == "unchanged" and out.target.known is None and out.sha256 is not None:
        return dataclasses.replace(out, outcome="new")
    return out


def _current_rows(
    conn: Connection, product: Product, outs: list[Outcome]
) -> dict[tuple[str, str], list[Any]]:
    """The ``current`` raw_files rows (id, sha256, storage_path) of the files of ``outs``, by (period, name)."""
    rf = raw_files.c
    names = sorted({o.target.entry.name for o in outs})
    found: dict[tuple[str, str], list[Any]] = {}
    for i in range(0, len(names), _LOOKUP_CHUNK):
        rows = conn.execute(
            select(rf.id, rf.period, rf.file_name, rf.sha256, rf.storage_path).where(
                rf.product == product.name,
                rf.status == "current",
                rf.file_name.in_(names[i : i + _LOOKUP_CHUNK]),
            )
        ).all()
        for row in rows:
            found.setdefault((row.period, row.file_name), []).append(row)
    return found


def record_files(conn: Connection, product: Product, run_id: int, outs: list[Outcome]) -> None:
    """Record stored file versions: insert a ``raw_files`` row per new version (the replaced version's row
    becomes ``superseded``); the same bytes under new validators only refresh the current row's ETag and
    Last-Modified; a version already recorded (a retried flush, or a run that stored the same bytes first)
    is refreshed, never duplicated. Every row a GET fetched or re-validated (a 304 too, whatever its status)
    gets the listing's size and modified time of its file and when the GET was sent (the quick check's).

    Set-based — one lookup, one supersede, one refresh and one insert statement per batch — because the
    download threads hold the GIL between the statements: per-file statements made recording the slowest part
    of an ingest (issue #19).
    """
    rf = raw_files.c
    effective = list(map(_effective, outs))
    # A 304 re-validated the row's bytes: it learns the listing's values of now (the next quick check's).
    revalidated = [
        {"row_id": o.target.known["id"], **_listing_values(o, "new_")}
        for o in effective
        if o.outcome == "unchanged" and o.sha256 is None and o.target.known is not None
    ]
    if revalidated:
        conn.execute(
            update(raw_files)
            .where(rf.id == bindparam("row_id"))
            .values(
                listed_size=bindparam("new_listed_size"),
                listed_modified=bindparam("new_listed_modified"),
                validated_at=bindparam("new_validated_at"),
            ),
            revalidated,
        )
    todo = [o for o in effective if not (o.outcome == "unchanged" and o.sha256 is None)]
    if not todo:
        return  # only 304s: no new bytes to record
    current = _current_rows(conn, product, todo)
    refresh: list[dict[str, Any]] = []
    supersede: list[int] = []
    inserts: list[dict[str, Any]] = []
    now = _now()
    for out in todo:
        t = out.target
        rows = current.get((t.period, t.entry.name), [])
        validators = {
            "new_etag": out.etag,
            "new_last_modified": out.last_modified,
            **_member_values(out, "new_"),
            **_listing_values(out, "new_"),
        }
        if out.outcome == "unchanged":
            # Same bytes under a new ETag (e.g. the file was touched): refresh the validators of the current row.
            refresh += [{"row_id": r.id, **validators} for r in rows]
            continue
        same = [r for r in rows if r.sha256 == out.sha256 and r.storage_path == out.storage_path]
        if same:
            refresh += [{"row_id": r.id, **validators} for r in same]
            continue
        supersede += [r.id for r in rows]
        inserts.append(
            {
                "url": t.entry.url,
                "product": product.name,
                "period": t.period,
                "file_name": t.entry.name,
                "station_id": t.zip_name.station_id if t.zip_name else None,
                "size": out.size,
                "last_modified": out.last_modified,
                "etag": out.etag,
                "sha256": out.sha256,
                "storage_path": out.storage_path,
                "fetched_at": now,
                "ingestion_run_id": run_id,
                "status": "current",
                **_member_values(out),
                **_listing_values(out),
            }
        )
    if refresh:
        conn.execute(
            update(raw_files)
            .where(rf.id == bindparam("row_id"))
            .values(
                etag=bindparam("new_etag"),
                last_modified=bindparam("new_last_modified"),
                # A row stored before migration 0008 learns its member when the same bytes come again.
                member_name=func.coalesce(rf.member_name, bindparam("new_member_name")),
                member_first_day=func.coalesce(rf.member_first_day, bindparam("new_member_first_day")),
                member_last_day=func.coalesce(rf.member_last_day, bindparam("new_member_last_day")),
                listed_size=bindparam("new_listed_size"),
                listed_modified=bindparam("new_listed_modified"),
                validated_at=bindparam("new_validated_at"),
            ),
            refresh,
        )
    for i in range(0, len(supersede), _LOOKUP_CHUNK):
        # Before the inserts: at most one current row per file (uq_raw_files_current).
        conn.execute(
            update(raw_files).where(rf.id.in_(supersede[i : i + _LOOKUP_CHUNK])).values(status="superseded")
        )
    if inserts:
        conn.execute(insert(raw_files), inserts)


def _member_values(out: Outcome, prefix: str = "") -> dict[str, Any]:
    """The raw_files member columns for ``out`` (NULLs when it learnt no produkt member: a 304, a list)."""
    m = out.member
    return {
        f"{prefix}member_name": m.name if m else None,
        f"{prefix}member_first_day": m.first if m else None,
        f"{prefix}member_last_day": m.last if m else None,
    }


def _listing_values(out: Outcome, prefix: str = "") -> dict[str, Any]:
    """The raw_files listing columns for ``out``: the size and modified time its listing entry showed, and
    when the GET that fetched or re-validated the bytes was sent."""
    entry = out.target.entry
    return {
        f"{prefix}listed_size": entry.size,
        f"{prefix}listed_modified": entry.modified,
        f"{prefix}validated_at": out.validated_at,
    }


def flush(engine: Engine, product: Product, run_id: int, pending: list[Outcome]) -> None:
    """Record the stored files of ``pending`` in one transaction and empty the list."""
    if not pending:
        return
    with engine.begin() as conn:
        record_files(conn, product, run_id, pending)
    pending.clear()


def publish_raw_versions(
    conn: Connection,
    settings: Settings,
    product: Product,
    quarters: Collection[Quarter] | None,
) -> dict[Quarter, str]:
    """Begin/publish ``<YEAR>Q<Q>_raw_v<N>`` for every quarter the current raw files' data touch (or just
    those of ``quarters``); a file's days come from its name or its produkt member (``ingest.dating``), not from today.
    The member is read from the row (recorded at ingest), so no zip is opened; a recent zip's row stored
    before migration 0008 is dated from the stored zip once and the row filled in.

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
    learnt: list[dict[str, Any]] = []
    for row in rows:
        member = None
        if dating.needs_stored_member(row):
            member = dating.produkt_range(store, product.name, row["period"], row["file_name"])
            if member is not None:
                learnt.append(
                    {
                        "row_id": row["id"],
                        "m_name": member.name,
                        "m_first": member.first,
                        "m_last": member.last,
                    }
                )
        span = dating.file_data_range(store, product.name, row, member)
        if span is None:
            continue
        for q in quarters_between(*span):
            if quarters is None or q in quarters:
                by_quarter.setdefault(q, []).append(f"{row['period']}/{row['file_name']}:{row['sha256']}")
    if learnt:
        conn.execute(
            update(raw_files)
            .where(rf.id == bindparam("row_id"))
            .values(
                member_name=bindparam("m_name"),
                member_first_day=bindparam("m_first"),
                member_last_day=bindparam("m_last"),
            ),
            learnt,
        )
    names: dict[Quarter, str] = {}
    for q in sorted(by_quarter):
        items = sorted(by_quarter[q])
        fingerprint = hashlib.sha256("\n".join(items).encode()).hexdigest()
        version = lineage.begin_version(conn, settings, "raw", product.name, q, fingerprint=fingerprint)
        if not version.is_noop:
            version = lineage.publish_version(conn, version, row_count=len(items))
        names[q] = version.version_name
    return names
