"""What a staging run writes to the warehouse: staged versions, station tables and ``raw_files`` statuses.

A successful run records, per rewritten quarter, a staged dataset version (with its parent raw version and
row count) and a ``staged_partitions`` row, then the station metadata/locations and the quarantine status of
bad files (releasing those that parsed after a retry). A failed run records a FAILED staged version per
quarter it was going to rewrite (``lineage.fail_version``, as aggregation does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath

import pyarrow as pa
from sqlalchemy import Connection, Engine, and_, func, select, update

from weatherinsight.dwd.products import Product
from weatherinsight.logs import get_logger
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.staging.quarantine import QuarantinedFile
from weatherinsight.staging.state import StagingState, fingerprint
from weatherinsight.staging.worker import FileOutcome
from weatherinsight.storage import staged as staged_store
from weatherinsight.storage.raw import raw_filesystem
from weatherinsight.warehouse import db, lineage
from weatherinsight.warehouse.stations import load_stations
from weatherinsight.warehouse.tables import raw_files, staged_partitions

log = get_logger(__name__)


@dataclass
class Recorded:
    """What ``record_run`` wrote: the staged version per quarter and the station rows upserted."""

    versions: dict[str, str]
    station_rows: int
    location_rows: int


def _engine(settings: Settings) -> Engine:
    engine = db.get_engine(settings.database_url)
    db.ensure_schema(engine)
    return engine


def raw_parents(conn: Connection, product: Product, q: Quarter, parent_raw_version: str | None) -> list[str]:
    """The raw version a staged version of ``q`` comes from: the one given, or the AVAILABLE one."""
    if parent_raw_version and parent_raw_version.startswith(str(q)):
        return [parent_raw_version]
    raw = lineage.find_available(conn, "raw", product.name, q)
    return [raw.version_name] if raw is not None else []


def record_run(
    settings: Settings,
    product: Product,
    *,
    committed: dict[Quarter, int],
    fingerprints: dict[Quarter, str],
    state: StagingState,
    station_lists: Sequence[str],
    geography: Sequence[pa.Table],
    quarantined: Sequence[QuarantinedFile],
    parent_raw_version: str | None,
    parsed_ok: Sequence[FileOutcome] = (),
) -> Recorded:
    """Write what the run did to the warehouse: one transaction for all quarters, one for the stations.

    Per rewritten quarter: a staged dataset version (``<YEAR>Q<Q>_staged_v<N>``, AVAILABLE, the previous one
    SUPERSEDED) with its parent raw version and row count, and a ``staged_partitions`` row; ``state.quarters``
    is updated to match. Also the station metadata/locations upserts and ``raw_files.status = 'quarantined'``
    with the reason for bad files; a quarantined ``raw_files`` row whose bytes parsed this run
    (``parsed_ok``) is released.
    """
    engine = _engine(settings)
    versions: dict[str, str] = {}
    # One transaction for all quarters of the run: one commit instead of one per quarter.
    with engine.begin() as conn:
        for q, rows in sorted(committed.items()):
            parents = raw_parents(conn, product, q, parent_raw_version)
            v = lineage.begin_version(
                conn, settings, "staged", product.name, q, fingerprint=fingerprints[q], parents=parents
            )
            if not v.is_noop:
                v = lineage.publish_version(conn, v, row_count=rows)
                conn.execute(
                    staged_partitions.insert().values(
                        product=product.name,
                        year=q.year,
                        quarter=q.quarter,
                        version=v.version_name,
                        row_count=rows,
                        fingerprint=fingerprints[q],
                        path=str(staged_store.partition_dir(settings.staged_dir, product.name, q)),
                        created_at=datetime.now(UTC),
                    )
                )
            versions[str(q)] = v.version_name
            state.quarters[str(q)] = {
                "fingerprint": fingerprints[q],
                "rows": rows,
                "version": v.version_name,
                "parents": parents,
            }
    fs, _ = raw_filesystem(settings)
    lists = [(p, fs.cat_file(p)) for p in station_lists]
    with engine.begin() as conn:
        loaded = load_stations(conn, product.name, station_lists=lists, geography=geography)
        mark_quarantined(conn, product, quarantined)
        release_quarantined(conn, product, parsed_ok)
    return Recorded(
        versions,
        loaded.metadata_inserted + loaded.metadata_updated,
        loaded.locations_inserted + loaded.locations_updated,
    )


def record_failed_run(
    settings: Settings,
    product: Product,
    quarters: Sequence[Quarter],
    fingerprints: dict[Quarter, str],
    exc: BaseException,
    parent_raw_version: str | None,
) -> None:
    """A FAILED staged version per quarter with the error.

    The AVAILABLE version of each quarter stays AVAILABLE (its partition was not touched); the failed attempt
    gives its number back (``lineage.fail_version``), so the next good run takes the same ``_vN``. One transaction for all quarters; a recording problem is logged and never
    replaces the run's own error.
    """
    if not quarters:
        return
    error = f"{type(exc).__name__}: {exc}"[:2000]
    names: list[str] = []
    try:
        with _engine(settings).begin() as conn:
            for q in quarters:
                v = lineage.begin_version(
                    conn,
                    settings,
                    "staged",
                    product.name,
                    q,
                    fingerprint=fingerprints.get(q) or fingerprint(q, []),
                    parents=raw_parents(conn, product, q, parent_raw_version),
                    force=True,
                )
                names.append(lineage.fail_version(conn, v, error).version_name)
    except Exception:
        log.exception("stage.failure_not_recorded", product=product.name, quarters=[str(q) for q in quarters])
        return
    log.error("stage.failed", product=product.name, failed_versions=names, error=error)


def record_quarantine_only(
    settings: Settings, product: Product, quarantined: Sequence[QuarantinedFile]
) -> None:
    """Mark the quarantined files in ``raw_files`` (a run that fails above the failure share does only this)."""
    with _engine(settings).begin() as conn:
        mark_quarantined(conn, product, quarantined)


def mark_quarantined(conn: Connection, product: Product, quarantined: Sequence[QuarantinedFile]) -> None:
    """``raw_files.status = 'quarantined'`` with the reason, for the rows of exactly these bytes."""
    for qf in quarantined:
        conn.execute(
            update(raw_files)
            .where(
                and_(
                    raw_files.c.product == product.name,
                    # ``_history`` copies are stored under a decorated name; raw_files has the DWD name.
                    raw_files.c.file_name.in_(sorted({PurePosixPath(qf.rel).name, qf.file_name})),
                    raw_files.c.sha256 == qf.sha256,
                )
            )
            .values(status="quarantined", quarantine_reason=qf.reason)
        )


def release_quarantined(conn: Connection, product: Product, parsed: Sequence[FileOutcome]) -> list[int]:
    """Give the quarantined ``raw_files`` rows of bytes that parsed back their ordinary status.

    The status a row has when staging never touched it: ``current``, or ``superseded`` when a newer row
    of the same file exists (ingestion records a newer release beside a quarantined row without touching
    it). The reason is cleared. Returns the ids of the released rows.
    """
    keys: set[tuple[str, str]] = set()
    for o in parsed:
        keys.add((PurePosixPath(o.rel).name, o.sha256))
        keys.add((o.file_name, o.sha256))
    if not keys:
        return []
    rf = raw_files.c
    rows = conn.execute(
        select(rf.id, rf.period, rf.file_name, rf.sha256).where(
            rf.product == product.name, rf.status == "quarantined"
        )
    ).all()
    released: list[int] = []
    for row in rows:
        if (row.file_name, row.sha256) not in keys:
            continue
        newer = conn.execute(
            select(func.count())
            .select_from(raw_files)
            .where(
                and_(
                    rf.product == product.name,
                    rf.period == row.period,
                    rf.file_name == row.file_name,
                    rf.id > row.id,
                )
            )
        ).scalar_one()
        conn.execute(
            update(raw_files)
            .where(rf.id == row.id)
            .values(status="superseded" if newer else "current", quarantine_reason=None)
        )
        released.append(int(row.id))
    if released:
        log.info("stage.released_quarantined", product=product.name, raw_file_ids=released)
    return released
