"""``run_quarter``: ingest → stage → aggregate one quarter for every product, products in parallel.

Concurrency follows the Airflow pools (``pools.api_calls`` products ingest, ``pools.spark_jobs`` stage or
aggregate at once); one product's failure never stops the others. Progress is reported as one task per
product advancing once per finished step (``ProgressEvent``); the CLI draws it.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

from weatherinsight.dwd.products import get_product
from weatherinsight.features.day_sources import daily_input, daily_inputs
from weatherinsight.logs import get_logger
from weatherinsight.pipeline import steps
from weatherinsight.pipeline.reports import ProductOutcome, RunReport, error_text, verify_outcomes
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.vocabulary import DATA_STAGES, ProgressCallback, ProgressEvent, Stage, Status, no_progress
from weatherinsight.warehouse import db

log = get_logger(__name__)


def product_list(settings: Settings, products: Iterable[str] | None) -> list[str]:
    """The requested products (default: every configured one), checked against the product registry."""
    names = list(products) if products else list(settings.product_types)
    return [get_product(n).name for n in names]


def _run_product(
    settings: Settings,
    product: str,
    quarter: Quarter,
    *,
    force: bool,
    api_slots: threading.Semaphore,
    spark_slots: threading.Semaphore,
    progress: ProgressCallback,
    daily_ready: Future[None] | None = None,
) -> ProductOutcome:
    started = time.monotonic()
    task = f"{quarter} {product}"
    current = Stage.INGEST
    try:
        with api_slots:
            steps.attempt(lambda: steps.ingest(settings, product, quarter), product, quarter, current)
        progress(ProgressEvent(task, advance=1))
        current = Stage.STAGE
        with spark_slots:
            steps.attempt(lambda: steps.stage(settings, product, quarter), product, quarter, current)
        progress(ProgressEvent(task, advance=1))
        current = Stage.AGGREGATE
        if daily_ready is not None:  # the day-based indices read the staged daily KL values
            daily_ready.result()
        with spark_slots:
            agg = steps.attempt(
                lambda: steps.aggregate(settings, product, quarter, force=force), product, quarter, current
            )
        progress(ProgressEvent(task, advance=1))
    except Exception as exc:  # one product's failure never stops the others; it is reported
        log.error(
            "product_failed",
            product=product,
            quarter=str(quarter),
            stage=str(current),
            error=error_text(exc),
            traceback=traceback.format_exc(limit=5),
        )
        return ProductOutcome(
            str(quarter),
            product,
            Status.FAILED,
            failed_stage=current,
            error=error_text(exc),
            duration_s=time.monotonic() - started,
        )
    return ProductOutcome(
        str(quarter),
        product,
        Status.SUCCEEDED if agg.status == Status.SUCCEEDED else Status.UNCHANGED,
        rows=agg.rows,
        version=agg.versions[-1] if agg.versions else None,
        duration_s=time.monotonic() - started,
    )


def ingest_daily_inputs(
    settings: Settings, products: Sequence[str], quarters: Sequence[Quarter]
) -> dict[str, str | None]:
    """Ingest the daily KL values the products' day-based indices read: one run per daily product for all
    ``quarters`` (one listing crawl and one GET per file; each quarter's raw version as its own run would).

    Returns per daily product the error that stopped it, or None. A failure is logged and does not stop the
    products: their day-based indices then use the hourly-derived days, and each row's source column
    (``tx_tn_source``, ``rr_source``) says so.
    """
    out: dict[str, str | None] = {}
    for daily in daily_inputs(products):
        out[daily] = None
        if not quarters:
            continue
        first, rest = quarters[0], list(quarters[1:])
        try:
            steps.attempt(
                partial(steps.ingest, settings, daily, first, batch=rest), daily, first, Stage.INGEST
            )
        except Exception as exc:
            out[daily] = _daily_failed(daily, quarters, Stage.INGEST, exc)
    return out


def process_daily_inputs(
    settings: Settings, products: Sequence[str], quarters: Sequence[Quarter]
) -> dict[str, str | None]:
    """Stage the ingested daily KL values of ``quarters`` in ONE run per daily product (each daily file parsed
    once), before the products reading them aggregate. Returns and logs failures as ``ingest_daily_inputs``."""
    out: dict[str, str | None] = {}
    if not quarters:
        return out
    first, rest = quarters[0], list(quarters[1:])
    for daily in daily_inputs(products):
        out[daily] = None
        try:
            steps.attempt(partial(steps.stage, settings, daily, first, batch=rest), daily, first, Stage.STAGE)
        except Exception as exc:
            out[daily] = _daily_failed(daily, quarters, Stage.STAGE, exc)
    return out


def _daily_failed(daily: str, quarters: Sequence[Quarter], stage: Stage, exc: BaseException) -> str:
    log.error(
        "daily_input_failed",
        product=daily,
        stage=str(stage),
        quarters=[str(q) for q in quarters],
        error=error_text(exc),
    )
    return error_text(exc)


def stage_daily_inputs(settings: Settings, products: Sequence[str], quarters: Sequence[Quarter]) -> None:
    """Ingest and stage the daily KL values the products' day-based indices read, before they aggregate:
    all quarters ingested in one run, then staged in one run (``ingest_daily_inputs``, then
    ``process_daily_inputs`` for the daily products whose ingest succeeded). Failures are logged, never raised.
    """
    if not quarters:
        return
    ingested = ingest_daily_inputs(settings, products, quarters)
    process_daily_inputs(
        settings, [p for p in products if ingested.get(daily_input(p) or "") is None], quarters
    )


def run_quarter(
    settings: Settings,
    quarter: Quarter,
    *,
    products: Sequence[str] | None = None,
    force: bool = False,
    progress: ProgressCallback = no_progress,
) -> RunReport:
    """Ingest → stage → aggregate ``quarter`` for every product; products run in parallel.

    Concurrency follows the Airflow pools: at most ``pools.api_calls`` products ingest and at most
    ``pools.spark_jobs`` stage or aggregate at once. Failures are caught per product and reported in
    the returned (database-verified) report; this function raises only for bad arguments.
    """
    names = product_list(settings, products)
    pools = settings.pools
    api_slots = threading.Semaphore(pools.api_calls)
    spark_slots = threading.Semaphore(pools.spark_jobs)
    db.ensure_schema(db.get_engine(settings.database_url))
    for p in names:
        progress(ProgressEvent(f"{quarter} {p}", total=len(DATA_STAGES)))
    with ThreadPoolExecutor(max_workers=len(names) + 1, thread_name_prefix="wi-product") as pool:
        # The daily KL values are ingested and staged while the products ingest and stage (they are
        # independent until then); a product whose day-based indices read them waits before aggregating.
        # stage_daily_inputs never raises: a failed daily input is logged and the rows say "hourly".
        daily = pool.submit(stage_daily_inputs, settings, names, [quarter])
        futures = [
            pool.submit(
                _run_product,
                settings,
                p,
                quarter,
                force=force,
                api_slots=api_slots,
                spark_slots=spark_slots,
                progress=progress,
                daily_ready=daily if daily_input(p) else None,
            )
            for p in names
        ]
        outcomes = [f.result() for f in futures]
    return RunReport(verify_outcomes(settings, outcomes))
