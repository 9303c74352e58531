"""The three data steps of one product × quarter — ingest, stage, aggregate — each returning a StepResult.

The CLI (through ``run_quarter``) and the Airflow tasks call these same functions. Each step is timed into
the Prometheus metrics; ``attempt`` re-runs a step that hit a write conflict with a parallel product.
Staging (of the hourly products; daily ones have one embedded path) and aggregation run on ``pipeline.engine``:
DuckDB, or Spark at ``spark.master`` on the process's one session (``engines.spark.shared_session``, started by
the first step that computes).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy.exc import IntegrityError, OperationalError

from weatherinsight import metrics
from weatherinsight.aggregate import aggregate_quarter, unstaged_quarters
from weatherinsight.dwd.products import get_product
from weatherinsight.errors import RunFailedError, WeatherInsightError
from weatherinsight.ingest import ingest_product
from weatherinsight.logs import get_logger
from weatherinsight.periods import PeriodKind, periods_ending_in, periods_overlapping
from weatherinsight.pipeline.reports import StepResult, error_text
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.staging import stage_daily, stage_product
from weatherinsight.vocabulary import Stage, Status

log = get_logger(__name__)

#: The Prometheus ``status`` label of a step outcome: an external contract (dashboards, alert rules).
METRIC_STATUS: dict[Status, metrics.StepStatus] = {
    Status.SUCCEEDED: "success",
    Status.UNCHANGED: "skipped",
    Status.FAILED: "failed",
}


def ingest(
    settings: Settings, product: str, quarter: Quarter, *, batch: Iterable[Quarter] = ()
) -> StepResult:
    """Download the product's new and changed DWD files that cover ``quarter`` into the raw store.

    ``batch`` names more quarters to ingest in the same run (a backfill's): one listing crawl and at most one
    conditional GET per file for all of them, each quarter's raw version as a run of its own would publish.
    The result describes ``quarter`` (the run's counts, versions of ``quarter`` only).
    Raises ``RunFailedError`` (from the ingest service) when too many files failed.
    """
    started = time.monotonic()
    with metrics.step_timer(settings, stage=Stage.INGEST, product=product, quarter=str(quarter)) as timer:
        result = ingest_product(settings, product, period="all", quarters=[quarter, *batch])
        files = result.files_new + result.files_changed
        timer.update(files=files, bytes_=result.bytes_downloaded, quarantined=result.files_failed)
    return StepResult(
        Stage.INGEST,
        product,
        str(quarter),
        Status.SUCCEEDED if files else Status.UNCHANGED,
        files=files,
        versions=[result.raw_version_of[quarter]] if quarter in result.raw_version_of else [],
        duration_s=time.monotonic() - started,
        detail={
            "status": result.status,
            "files_listed": result.files_listed,
            "files_unchanged": result.files_unchanged,
            "files_quick_checked": result.files_quick_checked,
            "files_failed": result.files_failed,
            "bytes_downloaded": result.bytes_downloaded,
            "run_id": result.run_id,
            "aborted_runs": list(result.aborted_runs),
        },
    )


def _stage_daily(settings: Settings, product: str, quarter: Quarter, wanted: list[Quarter]) -> StepResult:
    """Stage a daily product's ``wanted`` quarters (``staging.stage_daily``); the result describes ``quarter``.
    A quarter without daily files is not an error: the features then use the hourly-derived days (and say so
    per row)."""
    started = time.monotonic()
    with metrics.step_timer(settings, stage=Stage.STAGE, product=product, quarter=str(quarter)) as timer:
        result = stage_daily(settings, get_product(product), quarters=wanted)
        status = Status.UNCHANGED if str(quarter) not in result.rows_by_quarter else Status.SUCCEEDED
        rows = result.rows_by_quarter.get(str(quarter), 0)
        timer.update(
            files=result.files_parsed,
            rows=rows,
            quarantined=len(result.quarantined),
            status=METRIC_STATUS[status] if status == Status.UNCHANGED else None,
        )
    version = result.versions.get(str(quarter))
    return StepResult(
        Stage.STAGE,
        product,
        str(quarter),
        status,
        rows=rows,
        files=result.files_parsed,
        versions=[version] if version else [],
        duration_s=time.monotonic() - started,
        detail={"quarantined": result.quarantined},
    )


def stage(settings: Settings, product: str, quarter: Quarter, *, batch: Iterable[Quarter] = ()) -> StepResult:
    """Parse the raw files of ``quarter`` into staged Parquet (``pipeline.engine``); bad files are quarantined.

    ``batch`` names more quarters to stage in the same run (a backfill's): each raw file is then parsed once
    for all of them instead of once per quarter, and a later call for one of them finds its inputs unchanged
    and does nothing. The result describes ``quarter`` (the run's own counts, versions of ``quarter`` only).
    Raises ``RunFailedError`` when the staging service failed or wrote nothing for the quarter.
    """
    wanted = sorted({quarter, *batch})
    if get_product(product).daily:
        return _stage_daily(settings, product, quarter, wanted)
    started = time.monotonic()
    with metrics.step_timer(settings, stage=Stage.STAGE, product=product, quarter=str(quarter)) as timer:
        result = stage_product(
            settings, get_product(product), quarters=wanted, engine=settings.pipeline.engine
        )
        status = Status.UNCHANGED if result.status == "unchanged" else Status.SUCCEEDED
        timer.update(
            files=result.files_parsed,
            rows=result.rows_written,
            quarantined=len(result.quarantined),
            # A staging run that wrote something keeps the timer's default (success, or failed on raise).
            status=METRIC_STATUS[status] if status == Status.UNCHANGED else None,
        )
        if result.status == "failed":
            raise RunFailedError(f"staging {product} {quarter} failed: {result.message}")
    return StepResult(
        Stage.STAGE,
        product,
        str(quarter),
        status,
        rows=result.rows_written,
        files=result.files_parsed,
        versions=[v for k, v in result.versions.items() if k == str(quarter)],
        duration_s=time.monotonic() - started,
        detail={
            "status": result.status,
            "message": result.message,
            "quarantined": [f"{f.file_name}: {f.reason}" for f in result.quarantined],
        },
    )


def aggregate(
    settings: Settings,
    product: str,
    quarter: Quarter,
    *,
    force: bool = False,
    periods: Sequence[PeriodKind] | None = None,
) -> StepResult:
    """Compute the quarter's curated features (``pipeline.engine``) and publish them as the next dataset version;
    then the months, seasons and years (``periods``, default ``features.periods``) the quarter lies in whose
    every quarter is staged (``aggregate_periods``).

    Unchanged staged inputs make this a no-op (the AVAILABLE version stays); ``force`` writes ``_vN+1`` of
    the quarter and of the periods that end in it.
    """
    started = time.monotonic()
    with metrics.step_timer(settings, stage=Stage.AGGREGATE, product=product, quarter=str(quarter)) as timer:
        result = aggregate_quarter(settings, product, quarter, engine=settings.pipeline.engine, force=force)
        status = Status.UNCHANGED if result.unchanged else Status.SUCCEEDED
        timer.update(rows=result.rows, status=METRIC_STATUS[status])
    if not result.unchanged:
        metrics.record_published(settings, product, quarter, dataset_version=result.dataset_version)
    kinds = settings.features.periods if periods is None else periods
    published = aggregate_periods(settings, product, quarter, kinds, force=force)
    return StepResult(
        Stage.AGGREGATE,
        product,
        str(quarter),
        status,
        rows=result.rows,
        versions=[result.dataset_version],
        duration_s=time.monotonic() - started,
        detail={
            "previous_version": result.previous_version,
            "staged_versions": list(result.staged_versions),
            "periods": published,
        },
    )


def aggregate_periods(
    settings: Settings, product: str, quarter: Quarter, kinds: Sequence[PeriodKind], *, force: bool = False
) -> dict[str, str]:
    """Publish the periods of ``kinds`` that share hours with ``quarter`` and whose every quarter is staged.

    A month, season or year is computed when its last day is covered: the run of the quarter that holds its
    last day publishes it (DJF with the Q1 run, the year with the Q4 run), and a backfill that stages the
    quarters out of order publishes it with the last of them. Returns period label → published version, or
    ``"waiting for <quarters>"`` while quarters are missing. ``force`` rebuilds the periods ending in
    ``quarter`` only (the others of a forced backfill are forced by their own last quarter's run).
    """
    chosen = [k for k in kinds if k != "quarter"]
    ending = set(periods_ending_in(quarter, chosen))
    out: dict[str, str] = {}
    for period in periods_overlapping(quarter, chosen):
        missing = unstaged_quarters(settings, product, period)
        if missing:
            out[str(period)] = "waiting for " + ", ".join(str(q) for q in missing)
            continue
        res = aggregate_quarter(
            settings, product, period, engine=settings.pipeline.engine, force=force and period in ending
        )
        out[str(period)] = res.dataset_version
    return out


#: Pauses before re-running a step that hit a concurrency conflict (see ``retryable``).
CONFLICT_BACKOFF_S = (1.0, 3.0)


def retryable(exc: BaseException) -> bool:
    """A failure a prompt re-run of the (idempotent) step can cure: a transient error or a write conflict.

    Products run in parallel and share tables (e.g. ``station_locations``): two transactions inserting the
    same station at once make one fail with an IntegrityError on PostgreSQL ("database is locked" on
    SQLite); re-running the step then finds the row and succeeds. Data errors are never retried.
    """
    if isinstance(exc, WeatherInsightError):
        return exc.transient
    return isinstance(exc, (IntegrityError, OperationalError))


def attempt(step: Callable[[], StepResult], product: str, quarter: Quarter, stage: Stage) -> StepResult:
    """Run ``step``; re-run it after a pause when it fails with a ``retryable`` error (twice at most)."""
    for pause in (*CONFLICT_BACKOFF_S, None):
        try:
            return step()
        except Exception as exc:
            if pause is None or not retryable(exc):
                raise
            log.warning(
                "step_retry",
                product=product,
                quarter=str(quarter),
                stage=str(stage),
                error=error_text(exc),
                pause_s=pause,
            )
            time.sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover
