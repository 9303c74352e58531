"""The backfill DAG's task bodies (``dags/backfill_pipeline.py``): validate the params, one ingest per product
for the whole plan, then process → aggregate per quarter × product, the daily inputs of the plan, the summary
and the curated-quarter event.

Same rules as ``pipeline.airflow_tasks`` (whose helpers these use): plain JSON-friendly arguments, settings
loaded here, JSON-friendly returns, and every use case (steps, backfill, reports, runs) imported inside the
task that runs it, so parsing the DAG file loads no engine (tests/dags/test_dag_policy.py holds that).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from weatherinsight.errors import ConfigError, RunFailedError
from weatherinsight.logs import get_logger
from weatherinsight.pipeline.airflow_tasks import curated_quarterly, fail_now, skip_now
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


def plan_products_task(pairs: Sequence[Mapping[str, str]]) -> list[str]:
    """Airflow task ``plan_products``: the products of the plan, in plan order (``BackfillParams.products``):
    the list ``ingest_product`` is mapped over, so an instance's map index is its product's place in it.

    A task of its own because Airflow maps only over a task's whole return value, and ``validate_params``'s
    is the pairs.
    """
    return list(dict.fromkeys(pair["product"] for pair in pairs))


def backfill_ingest_product_task(product: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Airflow task ``ingest_product`` (mapped over the plan's products; pool ``api_calls``).

    Ingests the product for EVERY quarter of the backfill in one run (issue #19): one listing crawl and one
    conditional GET per file, each quarter's raw version published as a run of its own would. A retry is
    safe: the re-run finds the files it already has unchanged (conditional GETs) and publishes nothing new.
    Returns the run's counts (over all the quarters) and the quarters it covered; a failure fails the task,
    and the product's pairs then skip (``backfill_process_task``) and are reported failed at ingest.
    """
    from weatherinsight.pipeline import steps
    from weatherinsight.pipeline.backfill import BackfillParams

    settings = load_settings()
    first, *rest = BackfillParams.from_params(params, settings).plan()
    result = steps.attempt(
        lambda: steps.ingest(settings, product, first, batch=rest), product, first, Stage.INGEST
    )
    return {
        "product": product,
        "quarters": [str(q) for q in (first, *rest)],
        "status": str(result.status),
        "files": result.files,
        "detail": result.detail,
    }


def product_ingested(ti: Any, products: Sequence[str], product: str) -> bool:
    """Whether the ``ingest_product`` instance of ``product`` (map index: its place in ``products``) left its
    XCom, i.e. succeeded. Without a task instance (a direct call) the ingest is taken as done."""
    if ti is None:
        return True
    return ti.xcom_pull(task_ids=INGEST_TASK_ID, map_indexes=list(products).index(product)) is not None


def backfill_process_task(
    quarter: str, product: str, params: Mapping[str, Any], ti: Any = None
) -> dict[str, Any]:
    """Airflow task ``process_quarter_product`` (mapped; pool ``spark_jobs``).

    Stages the product for EVERY quarter of the backfill in one run (each raw file parsed once, issue #19):
    the first pair of a product to get here does the work, the later pairs find their quarters' inputs
    unchanged and do nothing. It runs once every ``ingest_product`` is done (trigger rule
    ``all_done_min_one_success``); when its own product's ingest failed it skips (so does its aggregate), and
    ``backfill_summary`` reports the pair failed at ingest.
    """
    from weatherinsight.pipeline import steps
    from weatherinsight.pipeline.backfill import BackfillParams

    settings = load_settings()
    q = Quarter.parse(quarter)
    checked = BackfillParams.from_params(params, settings)
    if not product_ingested(ti, checked.products, product):
        skip_now(f"task {INGEST_TASK_ID} [{product}] failed: nothing to stage for {quarter} {product}")
    batch = checked.plan()
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


#: The task id of the mapped per-product ingest (also read by ``backfill_process_task``).
INGEST_TASK_ID = "ingest_product"


@dataclass(frozen=True)
class BackfillStep:
    """One mapped step of the backfill DAG and how its map index is found for a quarter × product."""

    task_id: str
    stage: Stage
    #: One instance per product (map index: the product's place in the plan's products), else one per pair
    #: (map index: the pair's place in the plan).
    per_product: bool = False

    def map_index(self, pair_index: int, product: str, products: Sequence[str]) -> int:
        return list(products).index(product) if self.per_product else pair_index

    def label(self, pair: Mapping[str, str]) -> str:
        """The instance's map index label in the UI (``wind``, ``2024Q1 wind``)."""
        return pair["product"] if self.per_product else f"{pair['quarter']} {pair['product']}"


#: The mapped steps a quarter × product goes through, in order.
BACKFILL_STEPS = (
    BackfillStep(INGEST_TASK_ID, Stage.INGEST, per_product=True),
    BackfillStep("process_quarter_product", Stage.STAGE),
    BackfillStep("aggregate_quarter_product", Stage.AGGREGATE),
)


def pair_outcomes(outcomes: Iterable[Any] | None) -> list[list[Any]]:
    """The aggregate tasks' XCom as ``verify_backfill`` reads it: one list of outcome dicts per pair.

    Pulled through the mapped task group, a pair's one-element list can arrive as the bare dict.
    """
    return [[c] if isinstance(c, Mapping) else list(c) for c in outcomes or [] if c]


def failed_pairs(
    plan: Sequence[Mapping[str, str]], products: Sequence[str], outcomes: Iterable[Any] | None, ti: Any
) -> list[Any]:
    """A failed outcome (one-element list, as the aggregate task returns) for each pair that left none.

    The failed stage is that of the first step of ``BACKFILL_STEPS`` whose XCom for the pair is missing
    (``ti.xcom_pull`` by map index: the product's place in ``products`` for the per-product ingest, the pair's
    place in ``plan`` for the others): a failed ``ingest_product`` fails every pair of its product at ingest.
    Without a task instance the aggregate step is named.
    """
    from weatherinsight.pipeline.reports import ProductOutcome

    done = {(o["quarter"], o["product"]) for chunk in outcomes or [] for o in chunk or []}
    out = []
    for index, pair in enumerate(plan):
        if (pair["quarter"], pair["product"]) in done:
            continue
        step = BACKFILL_STEPS[-1]
        if ti is not None:
            for candidate in BACKFILL_STEPS:
                at = candidate.map_index(index, pair["product"], products)
                if ti.xcom_pull(task_ids=candidate.task_id, map_indexes=at) is None:
                    step = candidate
                    break
        error = f"task {step.task_id} [{step.label(pair)}] failed"
        o = ProductOutcome(
            pair["quarter"], pair["product"], Status.FAILED, failed_stage=step.stage, error=error
        )
        out.append([o.to_dict()])
    return out


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
    report, _ = verify_backfill(settings, p, seen + failed_pairs(plan, p.products, seen, ti))
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
