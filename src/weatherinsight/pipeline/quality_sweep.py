"""The data-quality sweep: which quarters are published and not yet checked, and the claim on each.

A quarter is *published* when every configured product has an AVAILABLE curated version of it; its
*published state* is the set of those version names. The quality DAG checks each published state exactly
once, whatever started it (asset events from the quarterly or backfill DAG, its cron, or quarters the CLI
published): a run sweeps ``pending_quarters`` and, per quarter, ``check_published`` claims the state by
inserting it into ``quality_checked_quarters`` (unique per quarter × versions) before checking, so two
concurrent runs never check the same state twice and lost or merged asset events lose nothing. A quarter
that is not published is never checked by the sweep.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from weatherinsight.logs import get_logger
from weatherinsight.pipeline.quality import quality_check
from weatherinsight.quality.checks import QualityReport
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, tables

log = get_logger(__name__)


@dataclass(frozen=True)
class PublishedQuarter:
    """A quarter whose every product has an AVAILABLE curated version, and those versions."""

    quarter: Quarter
    versions: str  # "product=version_name" pairs, sorted by product, comma-joined


def _published(conn: Connection, products: Sequence[str]) -> dict[Quarter, str]:
    dv = tables.dataset_versions
    rows = conn.execute(
        select(dv.c.product, dv.c.year, dv.c.quarter, dv.c.version_name).where(
            dv.c.kind == "curated",
            dv.c.status == "AVAILABLE",
            dv.c.product.in_(list(products)),
            dv.c.period_kind == "quarter",  # months, seasons and years are checked through their quarters
        )
    ).all()
    by_quarter: dict[Quarter, dict[str, str]] = {}
    for product, year, quarter, name in rows:
        by_quarter.setdefault(Quarter(int(year), int(quarter)), {})[str(product)] = str(name)
    wanted = set(products)
    return {
        q: ",".join(f"{p}={v}" for p, v in sorted(names.items()))
        for q, names in by_quarter.items()
        if set(names) == wanted
    }


def published_quarters(settings: Settings) -> list[PublishedQuarter]:
    """Every published quarter with its current curated versions, oldest first."""
    engine = db.get_engine(settings.database_url)
    db.ensure_schema(engine)
    with engine.connect() as conn:
        found = _published(conn, list(settings.product_types))
    return [PublishedQuarter(q, v) for q, v in sorted(found.items())]


def pending_quarters(settings: Settings) -> list[PublishedQuarter]:
    """The published quarters whose current versions no quality run has claimed yet, oldest first."""
    engine = db.get_engine(settings.database_url)
    db.ensure_schema(engine)
    qc = tables.quality_checked_quarters
    with engine.connect() as conn:
        found = _published(conn, list(settings.product_types))
        claimed = {
            (Quarter(int(y), int(q)), str(v))
            for y, q, v in conn.execute(select(qc.c.year, qc.c.quarter, qc.c.versions)).all()
        }
    return [PublishedQuarter(q, v) for q, v in sorted(found.items()) if (q, v) not in claimed]


def current_state(settings: Settings, quarter: Quarter) -> PublishedQuarter | None:
    """The quarter's published state now, or ``None`` while some product has no AVAILABLE curated version."""
    engine = db.get_engine(settings.database_url)
    db.ensure_schema(engine)
    with engine.connect() as conn:
        versions = _published(conn, list(settings.product_types)).get(quarter)
    return PublishedQuarter(quarter, versions) if versions else None


def claim(settings: Settings, state: PublishedQuarter, run_id: str) -> bool:
    """Claim a published state for one quality run; ``False`` when another run has claimed it already.

    The unique constraint on (year, quarter, versions) makes the INSERT the lock: of two concurrent
    claims exactly one commits.
    """
    engine = db.get_engine(settings.database_url)
    qc = tables.quality_checked_quarters
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(qc).values(
                    year=state.quarter.year,
                    quarter=state.quarter.quarter,
                    versions=state.versions,
                    run_id=run_id,
                    claimed_at=datetime.now(UTC),
                )
            )
    except IntegrityError:
        return False
    return True


def _claim_filter(state: PublishedQuarter, run_id: str) -> object:
    qc = tables.quality_checked_quarters
    return and_(
        qc.c.year == state.quarter.year,
        qc.c.quarter == state.quarter.quarter,
        qc.c.versions == state.versions,
        qc.c.run_id == run_id,
    )


def check_published(settings: Settings, quarter: Quarter, *, force: bool = False) -> QualityReport | None:
    """Check ``quarter`` once for its current published state; ``None`` when there is nothing to do.

    Nothing to do: the quarter is not published (never checked before it is), or another run has claimed
    its current versions. ``force`` (a quarter named by hand) checks a published quarter again even when
    its state was checked. When the checks themselves crash (not: find fatal problems) the claim is
    released so the next sweep retries the quarter.
    """
    state = current_state(settings, quarter)
    if state is None:
        log.info("quality_skip_unpublished", quarter=str(quarter))
        return None
    run_id = uuid.uuid4().hex
    if not claim(settings, state, run_id) and not force:
        log.info("quality_skip_already_checked", quarter=str(quarter), versions=state.versions)
        return None
    engine = db.get_engine(settings.database_url)
    qc = tables.quality_checked_quarters
    try:
        report = quality_check(settings, quarter, run_id=run_id)
    except BaseException:
        with engine.begin() as conn:
            conn.execute(delete(qc).where(_claim_filter(state, run_id)))  # type: ignore[arg-type]
        raise
    with engine.begin() as conn:
        conn.execute(
            update(qc).where(_claim_filter(state, run_id)).values(finished_at=datetime.now(UTC))  # type: ignore[arg-type]
        )
    log.info("quality_checked", quarter=str(quarter), versions=state.versions, run_id=run_id)
    return report
