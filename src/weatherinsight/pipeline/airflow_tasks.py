"""Everything Airflow-facing: the DAG task functions, operator settings, pools, callbacks and assets.

The DAG files in ``dags/`` only declare; every task body is a function here. Task functions take plain,
JSON-friendly arguments (Airflow passes context entries by parameter name: ``params``, ``outlet_events``,
``triggering_asset_events``, ``conn``), parse them into ``Quarter``s, load the settings themselves and
return JSON-friendly values (XCom). Airflow itself is an optional extra: it is imported only inside the few
functions that build Airflow objects (the curated-quarter asset and its alias), so ``weatherinsight``
imports without it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from weatherinsight.errors import ConfigError, RunFailedError
from weatherinsight.logs import get_logger
from weatherinsight.pipeline import alerts, steps
from weatherinsight.pipeline.backfill import BackfillParams, verify_backfill
from weatherinsight.pipeline.quality import QualityCheckFailed, quality_check
from weatherinsight.pipeline.reports import (
    STAGE_NOUNS,
    ProductOutcome,
    RunReport,
    stage_noun,
    summary_text,
    verify_outcomes,
)
from weatherinsight.pipeline.runs import run_quarter
from weatherinsight.quarters import Quarter, previous_quarter_of_run
from weatherinsight.settings import Settings, load_settings
from weatherinsight.vocabulary import DATA_STAGES, Stage, Status

log = get_logger(__name__)

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
    "pipeline_complete": Stage.QUALITY,
    "validate_params": None,
    "backfill_quarter": Stage.AGGREGATE,
    "backfill_summary": None,
    "announce_quarters": Stage.QUALITY,
    "quarters_to_check": None,
    "run_quality_checks": Stage.QUALITY,
}

#: The curated-quarter asset: emitted by ``pipeline_complete`` and ``announce_quarters``, scheduling
#: ``weatherinsight_data_quality``. Declared here only; the DAG files take the objects below.
CURATED_QUARTERLY_NAME = "weatherinsight_curated_quarterly"
CURATED_QUARTERLY_URI = "weatherinsight://curated/quarterly"
BACKFILL_EVENTS_NAME = "weatherinsight_backfill_curated_quarterly"


@cache
def curated_quarterly() -> Any:
    """The curated-quarter ``Asset`` (one object per process)."""
    from airflow.sdk import Asset  # lazy: airflow is an optional extra

    return Asset(name=CURATED_QUARTERLY_NAME, uri=CURATED_QUARTERLY_URI)


@cache
def backfill_events() -> Any:
    """The outlet of ``announce_quarters``: an ``AssetAlias`` resolving to ``curated_quarterly()``.

    A plain asset outlet yields ONE event per task instance with one extra (``outlet_events[asset].extra``,
    and ``yield Metadata(asset, ...)`` only updates that same dict); events added through an alias are
    registered one per distinct extra (Airflow 3.3 ``TaskInstance.register_asset_changes_in_db``), so each
    published quarter gets its own event. The alias is not an outlet itself, so a run publishing nothing
    emits nothing.
    """
    from airflow.sdk import AssetAlias  # lazy: airflow is an optional extra

    return AssetAlias(name=BACKFILL_EVENTS_NAME)


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


# ------------------------------------------------------------------------------------------------ pools


def pool_specs(settings: Settings) -> dict[str, dict[str, Any]]:
    """The Airflow pools the DAGs use, with slots from the YAML (``airflow pools import`` format)."""
    pools = settings.pools
    return {
        "spark_jobs": {
            "slots": pools.spark_jobs,
            "description": "WeatherInsight processing and aggregation (CPU/memory heavy)",
            "include_deferred": False,
        },
        "api_calls": {
            "slots": pools.api_calls,
            "description": "WeatherInsight ingestion (requests to the DWD server)",
            "include_deferred": False,
        },
    }


def ensure_pools(
    settings: Settings, *, airflow_bin: str | None = None, env: Mapping[str, str] | None = None
) -> None:
    """Create or update the pools with the ``airflow pools import`` CLI (idempotent; run at airflow-init).

    Through the CLI so this works without importing Airflow; the metadata database comes from the Airflow
    environment (``AIRFLOW_HOME`` / ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``) of ``env``.
    """
    exe = airflow_bin or shutil.which("airflow")
    if exe is None:
        raise ConfigError("airflow", "the `airflow` command is not on PATH", source="ensure_pools")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(pool_specs(settings), fh)
        path = fh.name
    try:
        proc = subprocess.run(
            [exe, "pools", "import", path],
            capture_output=True,
            text=True,
            env=dict(env) if env is not None else None,
            check=False,
        )
    finally:
        Path(path).unlink(missing_ok=True)
    if proc.returncode != 0:
        raise RunFailedError(
            f"`airflow pools import` failed ({proc.returncode}): {proc.stderr.strip()[-500:]}",
            hint="check AIRFLOW_HOME and that `airflow db migrate` ran",
        )
    log.info("pools_ensured", pools={k: v["slots"] for k, v in pool_specs(settings).items()})


# ------------------------------------------------------------------------------- quarterly pipeline tasks


def ingest_task(product: str, quarter: str) -> dict[str, Any]:
    """Airflow task ``ingest_<product>`` (group ``ingestion``)."""
    return steps.ingest(load_settings(), product, Quarter.parse(quarter)).to_dict()


def process_task(product: str, quarter: str) -> dict[str, Any]:
    """Airflow task ``process_<product>`` (group ``processing``)."""
    return steps.stage(load_settings(), product, Quarter.parse(quarter)).to_dict()


def aggregate_task(product: str, quarter: str, force: bool = False) -> dict[str, Any]:
    """Airflow task ``aggregate_<product>`` (group ``aggregation``)."""
    return steps.aggregate(load_settings(), product, Quarter.parse(quarter), force=force).to_dict()


#: The task function of each data stage in the quarterly DAG.
STAGE_TASKS = {Stage.INGEST: ingest_task, Stage.STAGE: process_task, Stage.AGGREGATE: aggregate_task}


def pipeline_complete_task(quarter: str, products: Sequence[str] | None = None) -> dict[str, Any]:
    """Verify every product's curated quarter is published.

    Raises ``RunFailedError`` when a product has no AVAILABLE curated version with rows.
    """
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


# ---------------------------------------------------------------------------------------- backfill tasks


def backfill_plan_task(params: Mapping[str, Any]) -> list[dict[str, str]]:
    """Airflow task ``validate_params``: bad params fail here, at once, with the parameter named.

    Returns one ``{"quarter": "2020Q1"}`` per quarter (the ``op_kwargs`` of the mapped quarter tasks).
    """
    p = BackfillParams.from_params(params, load_settings())
    plan = [{"quarter": str(q)} for q in p.plan()]
    log.info("backfill_plan", quarters=[x["quarter"] for x in plan], products=list(p.products))
    return plan


def backfill_quarter_task(quarter: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Airflow task ``backfill_quarter`` (mapped over quarters): every product of one quarter.

    Product failures do not fail this task; they are returned and the summary task fails the run.
    """
    settings = load_settings()
    p = BackfillParams.from_params(params, settings)
    report = run_quarter(settings, Quarter.parse(quarter), products=p.products, force=p.force_reprocess)
    return [o.to_dict() for o in report.outcomes]


def backfill_summary_task(outcomes: Iterable[Any] | None, params: Mapping[str, Any]) -> dict[str, Any]:
    """Airflow task ``backfill_summary``: every quarter × product with outcome, rows and error.

    Verified against the database; quarters whose task left no outcome count as failed. Raises
    ``RunFailedError`` (failing the run) when anything failed.
    """
    settings = load_settings()
    report, _ = verify_backfill(settings, BackfillParams.from_params(params, settings), outcomes)
    log.info("backfill_summary", ok=report.ok, failed=len(report.failed), total=len(report.outcomes))
    print(summary_text(report, title="WeatherInsight backfill"))  # the task log shows the table as is
    if not report.ok:
        raise RunFailedError(
            f"backfill failed for {len(report.failed)} of {len(report.outcomes)} quarter × product: "
            + "; ".join(
                f"{o.quarter} {o.product} ({stage_noun(o.failed_stage)}): {o.error}" for o in report.failed
            ),
            hint="fix the cause and re-trigger the backfill for those quarters (unchanged ones are no-ops)",
        )
    return report.to_dict()


def announce_quarters(
    outcomes: Iterable[Any] | None, params: Mapping[str, Any], outlet_events: Any
) -> list[str]:
    """Airflow task ``announce_quarters``: one curated-quarter event per published quarter, oldest first.

    Published as ``verify_backfill`` defines it (the judgement ``backfill_summary`` uses too): every
    product succeeded or was unchanged, confirmed by the database.

    Each extra names its quarter, ``"source": "backfill"`` and ``backfill_quarters``, every quarter this task
    announces. Why the list: Airflow 3.3 queues the consumer once per (asset, DAG) with the time of the
    FIRST event (``asset_dag_run_queue.created_at``) and the scheduler's run consumes only the events up
    to that time, so the later events of this task are left for the consumer's next run (whenever another
    event arrives). The quality DAG therefore checks the whole list when it sees the first event of the list
    and ignores the later ones (see ``triggered_quarters``). The events are registered when this task
    succeeds.
    """
    settings = load_settings()
    _, quarters = verify_backfill(settings, BackfillParams.from_params(params, settings), outcomes)
    for quarter in quarters:
        outlet_events[backfill_events()].add(
            curated_quarterly(),
            extra={"quarter": quarter, "source": "backfill", "backfill_quarters": quarters},
        )
    log.info("backfill_quarters_announced", quarters=quarters)
    return quarters


# ----------------------------------------------------------------------------------------- quality tasks


def triggered_quarters(events: Mapping[Any, Sequence[Any]] | None) -> list[str]:
    """Every quarter named by the curated-quarter events that triggered this run, oldest event first.

    The scheduler starts ONE run for all events queued since the last run (a backfill announcing several
    quarters, the quarterly DAG catching up while the quality DAG is busy): every quarter they name is
    checked. A backfill's event also lists ``backfill_quarters``, all quarters that backfill run announced:
    the run consuming the first event of that list checks the whole list, and a later event of the list is
    skipped. Airflow 3.3 consumes only the events up to the first one of a task's events
    (``asset_dag_run_queue.created_at``), leaving the rest to the next asset run, which may come months
    later; events are consumed in time order, so the first event's run is never later than the others'.
    Events without a quarter are ignored; duplicates are removed by the caller.
    """
    asset = curated_quarterly()
    if not events or asset not in events:
        return []
    quarters: list[str] = []
    for e in sorted(events[asset], key=lambda e: e.timestamp):
        extra = e.extra or {}
        batch = [str(q) for q in extra.get("backfill_quarters") or []]
        if not extra.get("quarter"):
            continue
        if not batch:
            quarters.append(str(extra["quarter"]))
        elif str(extra["quarter"]) == batch[0]:
            quarters.extend(batch)
    return quarters


def quarters_to_check(
    params: Mapping[str, Any],
    triggering_asset_events: Mapping[Any, Sequence[Any]] | None = None,
    data_interval_start: datetime | None = None,
    dag_run: Any = None,
) -> list[dict[str, str]]:
    """Airflow task ``quarters_to_check``: one ``{"quarter": "2024Q1"}`` per quarter, oldest first, no duplicates.

    ``params.quarter`` when triggered by hand for a given quarter; else every quarter named by the triggering
    asset events; else the quarter that just ended (cron: the data interval's; an asset run whose events
    name no quarter has no data interval: the quarter before ``run_after``). A malformed quarter fails
    here, naming it.
    """
    if params.get("quarter"):
        named = [str(params["quarter"])]
    elif events := triggered_quarters(triggering_asset_events):
        named = events
    elif data_interval_start is not None:
        named = [quarter_of_interval(data_interval_start)]
    else:
        named = [str(previous_quarter_of_run(dag_run.run_after))]
    return [{"quarter": str(q)} for q in sorted({Quarter.parse(q) for q in named})]


#: The Airflow connection the quality DAG reads the curated database from, when it is defined
#: (``AIRFLOW_CONN_WEATHERINSIGHT_POSTGRES`` or the connections store, as airflow-init creates it).
QUALITY_CONN_ID = "weatherinsight_postgres"


def connection_url(conn: Any, conn_id: str = QUALITY_CONN_ID) -> str | None:
    """The SQLAlchemy URL of an Airflow connection, looked up on the task context's ``conn`` accessor.

    Duck-typed (no Airflow import); ``None`` when there is no accessor or the connection is not defined
    (callers fall back to ``settings.database_url``).
    """
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


def quality_check_task(quarter: str, conn: Any = None) -> dict[str, Any]:
    """Airflow task ``run_quality_checks``: fails on fatal findings (after alerting), passes on warnings.

    The database is the ``weatherinsight_postgres`` Airflow connection when defined (``conn`` is the task
    context's connection accessor, passed by Airflow by name), else ``WEATHERINSIGHT_DATABASE_URL``.
    """
    settings = load_settings()
    url = connection_url(conn)
    if url is not None:
        settings = settings.model_copy(update={"database_url": url})
    log.info("quality_database", source="airflow connection" if url else "settings", conn_id=QUALITY_CONN_ID)
    report = quality_check(settings, Quarter.parse(quarter))
    if report.fatal:
        raise QualityCheckFailed(
            f"{len(report.fatal)} fatal quality finding(s) for {report.quarter}: "
            + "; ".join(f.describe() for f in report.fatal),
            alert_sent=report.alert_sent,
        )
    return dict(report.to_dict())


# --------------------------------------------------------------------------------------------- callbacks


def notify_task_failure(context: Mapping[str, Any]) -> None:
    """Airflow ``on_failure_callback``: e-mail the failure (SMTP from settings) with its triage pointers."""
    exc = context.get("exception")
    if isinstance(exc, QualityCheckFailed) and exc.alert_sent:
        return  # the quality task has sent a dedicated alert with every finding
    subject, body = alerts.failure_alert(context)
    alerts.send_alert(load_settings(), subject, body)


def notify_task_retry(context: Mapping[str, Any]) -> None:
    """Airflow ``on_retry_callback`` (only when ``email.on_retry`` is true)."""
    subject, body = alerts.retry_alert(context)
    alerts.send_alert(load_settings(), subject, body)
