"""A backfill without Airflow, in phases: ingest and stage all quarters at once, aggregate each quarter.

Running ``run_quarter`` quarter after quarter parsed every station's whole history once per quarter (a
historical zip covers decades, so every quarter's staging read all of it): a 20-quarter backfill parsed each
raw file 20 times (issue #19). Here each product is staged ONCE for every quarter of the backfill whose ingest
succeeded — one pass over each raw file, station by station, writing every touched quarter's partition — and
the quarters are then aggregated one by one. Ingest likewise runs ONCE per product for the whole plan (one
listing crawl and one conditional GET per file, not one round per quarter), publishing each quarter's raw
version as a run for that quarter alone would. What a quarter gets is what ``run_quarter`` gives it: only
changed partitions are rewritten, unchanged inputs are no-ops, one staged version per rewritten quarter.

Products run in parallel within the Airflow pool limits (``pools.api_calls`` ingest, ``pools.spark_jobs``
stage or aggregate at once); ``backfill.max_parallel_quarters`` quarters of one product aggregate at once.
A failure is reported per quarter × product and never stops the rest: a failed ingest fails every quarter of
that product (they shared the run), a failed staging pass fails the product's quarters it was staging.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from weatherinsight.logs import get_logger
from weatherinsight.pipeline import steps
from weatherinsight.pipeline.reports import ProductOutcome, error_text
from weatherinsight.pipeline.runs import stage_daily_inputs
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.vocabulary import DATA_STAGES, ProgressCallback, ProgressEvent, Stage, Status
from weatherinsight.warehouse import db

log = get_logger(__name__)


@dataclass
class _Slots:
    """The concurrency limits shared by every product of one backfill (the Airflow pools' sizes)."""

    api: threading.Semaphore
    spark: threading.Semaphore
    quarters: int


@dataclass
class _ProductRun:
    """One product's backfill: the quarters still going and the outcomes of those that ended."""

    settings: Settings
    product: str
    quarters: list[Quarter]
    force: bool
    progress: ProgressCallback
    started: float = field(default_factory=time.monotonic)
    outcomes: dict[Quarter, ProductOutcome] = field(default_factory=dict)

    def task(self, q: Quarter) -> str:
        return f"{q} {self.product}"

    def fail(self, q: Quarter, stage: Stage, exc: BaseException) -> None:
        log.error(
            "product_failed",
            product=self.product,
            quarter=str(q),
            stage=str(stage),
            error=error_text(exc),
            traceback=traceback.format_exc(limit=5),
        )
        self.outcomes[q] = ProductOutcome(
            str(q),
            self.product,
            Status.FAILED,
            failed_stage=stage,
            error=error_text(exc),
            duration_s=time.monotonic() - self.started,
        )

    def pending(self) -> list[Quarter]:
        return [q for q in self.quarters if q not in self.outcomes]

    def ingest(self, slots: _Slots) -> None:
        """Ingest every quarter in ONE run (historical zips limited to those overlapping a quarter)."""
        todo = self.pending()
        if not todo:
            return
        first, rest = todo[0], todo[1:]
        try:
            with slots.api:
                steps.attempt(
                    partial(steps.ingest, self.settings, self.product, first, batch=rest),
                    self.product,
                    first,
                    Stage.INGEST,
                )
        except Exception as exc:  # one run for all of them: every quarter of the product failed
            for q in todo:
                self.fail(q, Stage.INGEST, exc)
            return
        for q in todo:
            self.progress(ProgressEvent(self.task(q), advance=1))

    def stage(self, slots: _Slots) -> None:
        """Stage every quarter still going in ONE staging run (each raw file parsed once for all of them)."""
        todo = self.pending()
        if not todo:
            return
        first, rest = todo[0], todo[1:]
        try:
            with slots.spark:
                steps.attempt(
                    lambda: steps.stage(self.settings, self.product, first, batch=rest),
                    self.product,
                    first,
                    Stage.STAGE,
                )
        except Exception as exc:  # the run committed nothing it reports as done: every quarter failed
            for q in todo:
                self.fail(q, Stage.STAGE, exc)
            return
        for q in todo:
            self.progress(ProgressEvent(self.task(q), advance=1))

    def aggregate_one(self, q: Quarter, slots: _Slots) -> None:
        started = time.monotonic()
        try:
            with slots.spark:
                agg = steps.attempt(
                    lambda: steps.aggregate(self.settings, self.product, q, force=self.force),
                    self.product,
                    q,
                    Stage.AGGREGATE,
                )
        except Exception as exc:
            self.fail(q, Stage.AGGREGATE, exc)
            return
        self.progress(ProgressEvent(self.task(q), advance=1))
        self.outcomes[q] = ProductOutcome(
            str(q),
            self.product,
            Status.SUCCEEDED if agg.status == Status.SUCCEEDED else Status.UNCHANGED,
            rows=agg.rows,
            version=agg.versions[-1] if agg.versions else None,
            duration_s=time.monotonic() - started,
        )

    def aggregate(self, slots: _Slots) -> None:
        """Aggregate the quarters still going, oldest first, ``slots.quarters`` at once."""
        todo = self.pending()
        if slots.quarters == 1 or len(todo) < 2:
            for q in todo:
                self.aggregate_one(q, slots)
            return
        with ThreadPoolExecutor(max_workers=slots.quarters, thread_name_prefix="wi-quarter") as pool:
            list(pool.map(lambda q: self.aggregate_one(q, slots), todo))

    def run(self, slots: _Slots) -> list[ProductOutcome]:
        self.ingest(slots)
        self.stage(slots)
        self.aggregate(slots)
        return [self.outcomes[q] for q in self.quarters]


def backfill_in_phases(
    settings: Settings,
    quarters: Sequence[Quarter],
    products: Sequence[str],
    *,
    force: bool,
    progress: ProgressCallback,
) -> list[ProductOutcome]:
    """Ingest → stage once → aggregate ``quarters`` (sorted, distinct) for every product (see module doc).

    Returns one outcome per quarter × product, quarter-major (oldest first), products in the given order;
    not yet verified against the database (the caller does that once for all).
    """
    pools = settings.pools
    slots = _Slots(
        threading.Semaphore(pools.api_calls),
        threading.Semaphore(pools.spark_jobs),
        max(1, settings.backfill.max_parallel_quarters),
    )
    db.ensure_schema(db.get_engine(settings.database_url))
    for q in quarters:
        for p in products:
            progress(ProgressEvent(f"{q} {p}", total=len(DATA_STAGES)))
    stage_daily_inputs(
        settings, products, quarters
    )  # the day-based indices' daily KL values, all quarters at once
    runs = [_ProductRun(settings, p, list(quarters), force, progress) for p in products]
    with ThreadPoolExecutor(max_workers=len(runs), thread_name_prefix="wi-product") as pool:
        per_product = list(pool.map(lambda r: r.run(slots), runs))
    by_pair = {(o.quarter, o.product): o for chunk in per_product for o in chunk}
    return [by_pair[(str(q), p)] for q in quarters for p in products]
