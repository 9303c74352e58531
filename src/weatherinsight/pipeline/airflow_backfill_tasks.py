"""The backfill DAG's task bodies (``dags/backfill_pipeline.py``): validate the params, one ingest → process →
aggregate per quarter × product, the daily inputs of the plan, the summary and the curated-quarter event.

Same rules as ``pipeline.airflow_tasks`` (whose helpers these use): plain JSON-friendly arguments, settings
loaded here, JSON-friendly returns, and every use case (steps, backfill, reports, runs) imported inside the
task that runs it, so parsing the DAG file loads no engine (tests/dags/test_dag_policy.py holds that).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from weatherinsight.errors import ConfigError, RunFailedError
from weatherinsight.logs import get_logger
from weatherinsight.pipeline.airflow_tasks import curated_quarterly, fail_now
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings, load_settings
from weatherinsight.vocabulary import Stage, Status

log = get_logger(__name__)


def backfill_pairs_at_once(settings: Settings) -> int:
    """``max_active_tis_per_dagrun`` of each mapped step of the backfill DAG: ``backfill.max_parallel_quarters``
    quarters' worth of quarter × product tasks (× the configured products), as the CLI runs that many
    quarters at once. The pools bound the work across all DAGs on top of this."""
    return max(1, settings.backfill.max_parallel_quarters) * max(1, len(settings.product_types))


def backfill_plan_task(params: Mapping[str, Any]) -> list[dict[str, str]]:
    """Airflow task ``validate_params``: bad params fail here, at once, with the parameter named.

    Returns one ``{"quarter": "2020Q1", "product": "wind"}`` per quarter × product, oldest quarter first
    (the kwargs of the mapped ``quarter_product`` task group).
    """
    from weatherinsight.pipeline.backfill import BackfillParams

    try:
        p = BackfillParams.from_params(params, load_settings())
    except ConfigError as exc:
        fail_now(str(exc))
    plan = [{"quarter": str(q), "product": prod} for q in p.plan() for prod in p.products]
    log.info("backfill_plan", quarters=sorted({x["quarter"] for x in plan}), products=list(p.products))
    return plan


def backfill_ingest_task(quarter: str, product: str) -> dict[str, Any]:
    """Airflow task ``ingest_quarter_product`` (mapped; pool ``api_calls``)."""
    from weatherinsight.pipeline import steps

    q = Quarter.parse(quarter)
    return steps.attempt(
        lambda: steps.ingest(load_settings(), product, q), product, q, Stage.INGEST
    ).to_dict()


def backfill_process_task(quarter: str, product: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Airflow task ``process_quarter_product`` (mapped; pool ``spark_jobs``).

    Stages the product for EVERY quarter of the backfill in one run (each raw file parsed once, issue #19):
    the first pair of a product to get here does the work, the later pairs find their quarters' inputs
    unchanged and do nothing (only what their own ingest changed is staged again).
    """
    from weatherinsight.pipeline import steps
    from weatherinsight.pipeline.backfill import BackfillParams

    settings = load_settings()
    q = Quarter.parse(quarter)
    batch = BackfillParams.from_params(params, settings).plan()
    return steps.attempt(
        lambda: steps.stage(settings, product, q, batch=batch), product, q, Stage.STAGE
    ).to_dict()


def backfill_ingest_daily_task(params: Mapping[str, Any]) -> dict[str, str | None]:
    """Airflow task ``ingest_daily_inputs`` (pool ``api_calls``): the daily KL values of every quarter of the
    plan that the plan's products read (issue #17), as the CLI backfill ingests them.

    Returns per daily product the error that stopped it, or None. A failure does not fail the task: the
    products then aggregate with hourly-derived day indices, and each row's source column says so.
    """
    from weatherinsight.pipeline.backfill import BackfillParams
    from weatherinsight.pipeline.runs import ingest_daily_inputs

    settings = load_settings()
    checked = BackfillParams.from_params(params, settings)
    return ingest_daily_inputs(settings, checked.products, checked.plan())


def backfill_process_daily_task(params: Mapping[str, Any]) -> dict[str, str | None]:
    """Airflow task ``process_daily_inputs`` (pool ``spark_jobs``): stage those daily KL values for every
    quarter of the plan in one run; the products reading them aggregate after it. Failures as
    ``backfill_ingest_daily_task``."""
    from weatherinsight.pipeline.backfill import BackfillParams
    from weatherinsight.pipeline.runs import process_daily_inputs

    settings = load_settings()
    checked = BackfillParams.from_params(params, settings)
    return process_daily_inputs(settings, checked.products, checked.plan())


def backfill_aggregate_task(quarter: str, product: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Airflow task ``aggregate_quarter_product`` (mapped; pool ``spark_jobs``): the pair's outcome.

    Returns a one-element list of ``ProductOutcome`` dicts, the shape ``verify_backfill`` reads; a pair
    whose task failed leaves nothing and is reported failed by the summary.
    """
    from weatherinsight.pipeline import steps
    from weatherinsight.pipeline.backfill import BackfillParams
    from weatherinsight.pipeline.reports import ProductOutcome

    settings = load_settings()
    checked = BackfillParams.from_params(params, settings)
    force, periods = checked.force_reprocess, [k for k in checked.periods if k != "quarter"]
    q = Quarter.parse(quarter)
    result = steps.attempt(
        lambda: steps.aggregate(settings, product, q, force=force, periods=periods),
        product,
        q,
        Stage.AGGREGATE,
    )
    status = Status.SUCCEEDED if result.status == Status.SUCCEEDED else Status.UNCHANGED
    version = result.versions[-1] if result.versions else None
    outcome = ProductOutcome(quarter, product, status, rows=result.rows, version=version)
    return [outcome.to_dict()]


#: The mapped steps of a backfill pair, in order, with the stage each runs.
BACKFILL_STEPS = (
    ("ingest_quarter_product", Stage.INGEST),
    ("process_quarter_product", Stage.STAGE),
    ("aggregate_quarter_product", Stage.AGGREGATE),
)


def pair_outcomes(outcomes: Iterable[Any] | None) -> list[list[Any]]:
    """The aggregate tasks' XCom as ``verify_backfill`` reads it: one list of outcome dicts per pair.

    Pulled through the mapped task group, a pair's one-element list can arrive as the bare dict.
    """
    return [[c] if isinstance(c, Mapping) else list(c) for c in outcomes or [] if c]


def failed_pairs(plan: Sequence[Mapping[str, str]], outcomes: Iterable[Any] | None, ti: Any) -> list[Any]:
    """A failed outcome (one-element list, as the aggregate task returns) for each pair that left none.

    The failed stage is the first step of the pair whose XCom (``ti.xcom_pull`` by map index = the pair's
    place in the plan) is missing.
    """
    from weatherinsight.pipeline.reports import ProductOutcome

    done = {(o["quarter"], o["product"]) for chunk in outcomes or [] for o in chunk or []}
    out = []
    for index, pair in enumerate(plan):
        if (pair["quarter"], pair["product"]) in done:
            continue
        stage = Stage.AGGREGATE
        if ti is not None:
            for task_id, step in BACKFILL_STEPS:
                if ti.xcom_pull(task_ids=task_id, map_indexes=index) is None:
                    stage = step
                    break
        error = f"task {dict(BACKFILL_STEPS_BY_STAGE)[stage]} [{pair['quarter']} {pair['product']}] failed"
        o = ProductOutcome(pair["quarter"], pair["product"], Status.FAILED, failed_stage=stage, error=error)
        out.append([o.to_dict()])
    return out


BACKFILL_STEPS_BY_STAGE = [(stage, task_id) for task_id, stage in BACKFILL_STEPS]


def backfill_summary_task(
    outcomes: Iterable[Any] | None, params: Mapping[str, Any], ti: Any = None
) -> dict[str, Any]:
    """Airflow task ``backfill_summary``: every quarter × product with outcome, rows and error.

    Verified against the database; a pair whose tasks left no outcome is failed, naming the step that
    failed. Raises ``RunFailedError`` (failing the run) when anything failed.
    """
    from weatherinsight.pipeline.backfill import BackfillParams, verify_backfill
    from weatherinsight.pipeline.reports import stage_noun, summary_text

    settings = load_settings()
    p = BackfillParams.from_params(params, settings)
    plan = [{"quarter": str(q), "product": prod} for q in p.plan() for prod in p.products]
    seen = pair_outcomes(outcomes)
    report, _ = verify_backfill(settings, p, seen + failed_pairs(plan, seen, ti))
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
    """Airflow task ``announce_quarters``: one curated-quarter event naming every published quarter.

    The event only wakes the quality DAG; what it checks comes from its sweep of the database
    (``pipeline.quality_sweep``), so merged or lost events lose no quarter.
    """
    from weatherinsight.pipeline.backfill import BackfillParams, verify_backfill

    settings = load_settings()
    _, quarters = verify_backfill(
        settings, BackfillParams.from_params(params, settings), pair_outcomes(outcomes)
    )
    outlet_events[curated_quarterly()].extra = {"quarters": quarters, "source": "backfill"}
    log.info("backfill_quarters_announced", quarters=quarters)
    return quarters
