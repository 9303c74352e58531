"""Everything Airflow-facing: the DAG task functions, operator settings, pools, callbacks and assets.

The DAG files in ``dags/`` only declare; every task body is a function here, except the backfill DAG's,
which are in ``pipeline.airflow_backfill_tasks`` (built on the helpers here). Task functions take plain,
JSON-friendly arguments (Airflow passes context entries by parameter name: ``params``, ``outlet_events``,
``triggering_asset_events``, ``conn``), parse them into ``Quarter``s, load the settings themselves and
return JSON-friendly values (XCom). Airflow itself is an optional extra: it is imported only inside the few
functions that build Airflow objects (the curated-quarter asset and its alias), so ``weatherinsight``
imports without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, NoReturn

from weatherinsight.errors import ConfigError, InvalidQuarterError, RunFailedError
from weatherinsight.features import day_sources
from weatherinsight.logs import get_logger
from weatherinsight.pipeline.airflow_setup import QUALITY_CONN_ID, ensure_pools, missing_pools, pool_specs
from weatherinsight.quarters import QUARTER_PATTERN, Quarter, previous_quarter_of_run
from weatherinsight.settings import Settings, load_settings
from weatherinsight.vocabulary import DATA_STAGES, STAGE_NOUNS, Stage, Status

# Airflow imports this module for every DAG parse and every task it starts: the pipeline's use cases
# (steps, reports, backfill, quality sweep, alerts) pull in pyarrow, DuckDB, ibis and httpx, so each task
# function imports what it runs, and parsing stays cheap (tests/dags/test_dag_policy.py holds that).
log = get_logger(__name__)

__all__ = ["ensure_pools", "pool_specs"]  # re-exported for deploy/airflow/airflow-init.sh

# ------------------------------------------------------------------------------------- stages and tasks

#: DAG task id prefix per data stage: ``ingest_air_temperature`` … ``aggregate_moisture`` (a seed contract).
TASK_PREFIX: dict[Stage, str] = {Stage.INGEST: "ingest", Stage.STAGE: "process", Stage.AGGREGATE: "aggregate"}
#: The Airflow pool each data stage's tasks run in (slots from ``settings.pools``).
STAGE_POOLS: dict[Stage, str] = {
    Stage.INGEST: "api_calls",
    Stage.STAGE: "spark_jobs",
    Stage.AGGREGATE: "spark_jobs",
}
#: The stage whose settings (retries, pool, timeout) each non-product task takes; ``None``: never retried
#: (bad params and summaries do not get better on retry).
TASK_STAGES: dict[str, Stage | None] = {
    "resolve_quarter": None,
    "pipeline_complete": Stage.QUALITY,
    "validate_params": None,
    "plan_products": None,
    "backfill_summary": None,
    "announce_quarters": Stage.QUALITY,
    "quarters_to_check": None,
    "run_quality_checks": Stage.QUALITY,
}

#: The curated-quarter asset: emitted by ``pipeline_complete`` and ``announce_quarters``, scheduling
#: ``weatherinsight_data_quality``. Declared here only; the DAG files take the objects below.
CURATED_QUARTERLY_NAME = "weatherinsight_curated_quarterly"
CURATED_QUARTERLY_URI = "weatherinsight://curated/quarterly"


@cache
def curated_quarterly() -> Any:
    """The curated-quarter ``Asset`` (one object per process)."""
    from airflow.sdk import Asset  # lazy: airflow is an optional extra

    return Asset(name=CURATED_QUARTERLY_NAME, uri=CURATED_QUARTERLY_URI)


def task_names(product: str) -> dict[Stage, str]:
    """The three task ids of a product in the quarterly DAG."""
    return {stage: f"{prefix}_{product}" for stage, prefix in TASK_PREFIX.items()}


def task_stage(task_id: str) -> Stage | None:
    """The stage whose settings a task of the DAGs runs with (``None``: a task that is never retried)."""
    for stage, prefix in TASK_PREFIX.items():
        if task_id.startswith(f"{prefix}_"):
            return stage
    return TASK_STAGES[task_id]


def group_id(stage: Stage) -> str:
    """The task group of a data stage in the quarterly DAG (``ingestion``, ``processing``, ``aggregation``)."""
    return STAGE_NOUNS[stage]


def stage_retries(settings: Settings, stage: Stage) -> int:
    """The configured retries of a stage's tasks (``retries.<stage>`` in the YAML)."""
    return int(getattr(settings.retries, stage.value))


def stage_sla_hours(settings: Settings, stage: Stage) -> float:
    """The configured SLA of a stage in hours (the one place that knows the YAML key).

    Quality has no SLA of its own: it takes aggregation's.
    """
    key = stage if stage in DATA_STAGES else Stage.AGGREGATE
    return float(getattr(settings.sla, f"{key.value}_hours"))


def task_defaults(stage: Stage, settings: Settings | None = None) -> dict[str, Any]:
    """Operator arguments of one stage from the YAML: retries, retry delay, timeout, pool, callbacks."""
    cfg = settings or load_settings()
    out: dict[str, Any] = {
        "retries": stage_retries(cfg, stage),
        "retry_delay": timedelta(minutes=cfg.retry_delay_minutes),
        "on_failure_callback": notify_task_failure if cfg.email.on_failure else None,
        "on_retry_callback": notify_task_retry if cfg.email.on_retry else None,
        # The stage's SLA is also its hard limit: a task running past it is killed and retried.
        "execution_timeout": timedelta(hours=stage_sla_hours(cfg, stage)),
    }
    if stage in STAGE_POOLS:
        out["pool"] = STAGE_POOLS[stage]
    return out


def failure_callback(settings: Settings) -> Any:
    """``on_failure_callback`` for the tasks outside ``task_defaults`` (None when alerts are off)."""
    return notify_task_failure if settings.email.on_failure else None


def quarter_of_interval(data_interval_start: datetime | date) -> str:
    """The quarter a scheduled run processes: the one its data interval starts in (``2024Q1``).

    The DAGs use ``CronDataIntervalTimetable``: the run firing on 2024-04-01 has the interval
    2024-01-01 → 2024-04-01, so it processes 2024Q1; the one firing on 2024-01-01 processes 2023Q4.
    """
    return str(Quarter.of(data_interval_start))


def fail_now(message: str) -> NoReturn:
    """Fail the task at once, without retries (``AirflowFailException``): for input that a retry cannot fix."""
    from airflow.sdk.exceptions import AirflowFailException  # lazy: airflow is an optional extra

    log.error("task_failed_without_retry", reason=message)
    raise AirflowFailException(message)


def skip_now(message: str) -> NoReturn:
    """End the task as skipped (``AirflowSkipException``): there is nothing for it to do, and nothing to retry."""
    from airflow.sdk.exceptions import AirflowSkipException  # lazy: airflow is an optional extra

    log.warning("task_skipped", reason=message)
    raise AirflowSkipException(message)


def parse_quarter_param(value: Any) -> Quarter:
    """The ``quarter`` param of a manual run (``2024Q1``, ``QUARTER_PATTERN``); a bad one fails the run at once."""
    try:
        return Quarter.parse(str(value))
    except InvalidQuarterError as exc:
        fail_now(f"param quarter: {exc} (pattern {QUARTER_PATTERN})")


def resolve_quarter_task(
    params: Mapping[str, Any], dag_run: Any = None, data_interval_start: datetime | None = None
) -> str:
    """Airflow task ``resolve_quarter``: the quarter this run of the quarterly DAG processes.

    The ``quarter`` param when given (a bad one fails the run at once, no retries); else the quarter the
    data interval starts in (scheduled runs, and manual runs with a logical date: the run firing on
    2024-04-01 processes 2024Q1); else, for a manual run without a logical date (Airflow 3's default,
    no data interval), the last quarter complete when the run was triggered (``run_after``).
    """
    if params.get("quarter"):
        q = parse_quarter_param(params["quarter"])
    elif data_interval_start is not None:
        q = Quarter.of(data_interval_start)
    else:
        q = previous_quarter_of_run(dag_run.run_after)
    if q > Quarter.last_complete():
        fail_now(
            f"param quarter: {q} has not ended yet (the last complete quarter is {Quarter.last_complete()})"
        )
    log.info("run_quarter", quarter=str(q))
    return str(q)


def warn_missing_pools(settings: Settings) -> list[str]:
    """At DAG parse time: log a warning naming the pools the DAGs need that Airflow does not have.

    Without them Airflow never starts those tasks and says little about it. Uses Airflow's own pool lookup
    (one small query on its metadata database; none on ours). Where that lookup is not available (no
    metadata database, a parser without database access) nothing is checked. Returns the missing pools.
    """
    try:
        from airflow.models.pool import Pool  # lazy: airflow is an optional extra

        existing = {str(p.pool) for p in Pool.get_pools()}
    except Exception as exc:  # parsing must never fail because of this check
        log.debug("pool_check_unavailable", error=str(exc)[:200])
        return []
    missing = missing_pools(settings, existing)
    if missing:
        log.warning(
            "weatherinsight_pools_missing",
            pools=missing,
            fix="run `weatherinsight airflow init` (tasks in these pools will not start until they exist)",
        )
    return missing


# ------------------------------------------------------------------------------- quarterly pipeline tasks


def ingest_task(product: str, quarter: str) -> dict[str, Any]:
    """Airflow task ``ingest_<product>`` (group ``ingestion``)."""
    from weatherinsight.pipeline import steps

    return steps.ingest(load_settings(), product, Quarter.parse(quarter)).to_dict()


def process_task(product: str, quarter: str) -> dict[str, Any]:
    """Airflow task ``process_<product>`` (group ``processing``)."""
    from weatherinsight.pipeline import steps

    return steps.stage(load_settings(), product, Quarter.parse(quarter)).to_dict()


def aggregate_task(product: str, quarter: str, force: bool = False) -> dict[str, Any]:
    """Airflow task ``aggregate_<product>`` (group ``aggregation``)."""
    from weatherinsight.pipeline import steps

    return steps.aggregate(load_settings(), product, Quarter.parse(quarter), force=force).to_dict()


def daily_inputs(products: Iterable[str]) -> list[str]:
    """The daily products (daily KL) the products' features read; the quarterly DAG ingests and processes
    them before those products aggregate."""
    return day_sources.daily_inputs(products)


def products_reading(daily: str, products: Iterable[str]) -> list[str]:
    """The products among ``products`` whose aggregation reads the daily product ``daily``."""
    return [p for p in products if day_sources.daily_input(p) == daily]


#: The task function of each data stage in the quarterly DAG.
STAGE_TASKS = {Stage.INGEST: ingest_task, Stage.STAGE: process_task, Stage.AGGREGATE: aggregate_task}


def pipeline_complete_task(quarter: str, products: Sequence[str] | None = None) -> dict[str, Any]:
    """Verify every product's curated quarter is published.

    Raises ``RunFailedError`` when a product has no AVAILABLE curated version with rows.
    """
    from weatherinsight.pipeline.reports import ProductOutcome, RunReport, verify_outcomes

    settings = load_settings()
    q = str(Quarter.parse(quarter))
    names = list(products) if products else list(settings.product_types)
    outcomes = [ProductOutcome(q, p, Status.SUCCEEDED) for p in names]
    report = RunReport(verify_outcomes(settings, outcomes))
    log.info("pipeline_complete", quarter=q, **{o.product: o.verified_version for o in report.outcomes})
    if not report.ok:
        raise RunFailedError(
            f"quarter {q} is not complete: " + "; ".join(f"{o.product}: {o.error}" for o in report.failed),
            hint="see the failed tasks of this run",
        )
    return report.to_dict()


def complete_and_announce(quarter: str, products: list[str], outlet_events: Any) -> dict[str, Any]:
    """Airflow task ``pipeline_complete``: ``pipeline_complete_task``, then the quarter on the asset event.

    The event (extra ``{"quarter": ...}``) is emitted only when the task succeeds.
    """
    result = pipeline_complete_task(quarter, products)
    outlet_events[curated_quarterly()].extra = {"quarter": quarter}
    return result


# ----------------------------------------------------------------------------------------- quality tasks


def quarters_to_check(params: Mapping[str, Any], conn: Any = None) -> list[dict[str, Any]]:
    """Airflow task ``quarters_to_check``: the quarters this quality run checks, oldest first.

    ``params.quarter`` (a check asked for by hand: checked even when its versions were checked before,
    but only once it is published); else the sweep: every published quarter whose current curated
    versions no run has claimed (``quality_sweep.pending_quarters``), whatever triggered the run.
    The database as for ``quality_check_task``.
    """
    from weatherinsight.pipeline import quality_sweep

    settings = quality_settings(conn)
    if params.get("quarter"):
        q = parse_quarter_param(params["quarter"])
        if quality_sweep.current_state(settings, q) is None:
            fail_now(f"quarter {q} is not published: some product has no AVAILABLE curated version")
        return [{"quarter": str(q), "force": True}]
    pending = quality_sweep.pending_quarters(settings)
    log.info("quality_sweep", pending=[str(p.quarter) for p in pending])
    return [{"quarter": str(p.quarter), "force": False} for p in pending]


def connection_url(conn: Any, conn_id: str = QUALITY_CONN_ID) -> str | None:
    """The SQLAlchemy URL of an Airflow connection, looked up on the task context's ``conn`` accessor.

    Duck-typed (no Airflow import); ``None`` when there is no accessor or the connection is not defined
    (callers fall back to ``settings.database_url``).
    """
    from sqlalchemy.engine import URL

    if conn is None:
        return None
    try:
        c = getattr(conn, conn_id)
    except Exception:  # Airflow raises its own "not found" error; a missing connection is not a failure here
        return None
    kind = str(getattr(c, "conn_type", "") or "").lower()
    if kind not in ("postgres", "postgresql"):
        raise ConfigError(
            f"connection {conn_id}", f"conn_type must be postgres, got {kind!r}", source="Airflow connections"
        )
    return URL.create(
        "postgresql+psycopg",
        username=getattr(c, "login", None) or None,
        password=getattr(c, "password", None) or None,
        host=getattr(c, "host", None) or None,
        port=int(c.port) if getattr(c, "port", None) else None,
        database=getattr(c, "schema", None) or None,
    ).render_as_string(hide_password=False)


def quality_settings(conn: Any) -> Settings:
    """The settings of the quality tasks: the database of the ``weatherinsight_postgres`` connection if defined."""
    settings = load_settings()
    url = connection_url(conn)
    if url is not None:
        settings = settings.model_copy(update={"database_url": url})
    log.info("quality_database", source="airflow connection" if url else "settings", conn_id=QUALITY_CONN_ID)
    return settings


def quality_check_task(quarter: str, force: bool = False, conn: Any = None) -> dict[str, Any]:
    """Airflow task ``run_quality_checks`` (mapped per quarter): claim, check, fail on fatal findings.

    The database is the ``weatherinsight_postgres`` Airflow connection when defined (``conn`` is the task
    context's connection accessor, passed by Airflow by name), else ``WEATHERINSIGHT_DATABASE_URL``.
    A quarter another run has claimed meanwhile (or that is no longer published) is left alone.
    """
    from weatherinsight.pipeline import quality_sweep
    from weatherinsight.pipeline.quality import QualityCheckFailed

    settings = quality_settings(conn)
    report = quality_sweep.check_published(settings, Quarter.parse(quarter), force=force)
    if report is None:
        return {"quarter": quarter, "checked": False}
    if report.fatal:
        raise QualityCheckFailed(
            f"{len(report.fatal)} fatal quality finding(s) for {report.quarter}: "
            + "; ".join(f.describe() for f in report.fatal),
            alert_sent=report.alert_sent,
        )
    return {**report.to_dict(), "checked": True}


# --------------------------------------------------------------------------------------------- callbacks


def notify_task_failure(context: Mapping[str, Any]) -> None:
    """Airflow ``on_failure_callback``: e-mail the failure (SMTP from settings) with its triage pointers."""
    from weatherinsight.pipeline import alerts
    from weatherinsight.pipeline.quality import QualityCheckFailed

    exc = context.get("exception")
    if isinstance(exc, QualityCheckFailed) and exc.alert_sent:
        return  # the quality task has sent a dedicated alert with every finding
    subject, body = alerts.failure_alert(context)
    alerts.send_alert(load_settings(), subject, body)


def notify_task_retry(context: Mapping[str, Any]) -> None:
    """Airflow ``on_retry_callback`` (only when ``email.on_retry`` is true)."""
    from weatherinsight.pipeline import alerts

    subject, body = alerts.retry_alert(context)
    alerts.send_alert(load_settings(), subject, body)
