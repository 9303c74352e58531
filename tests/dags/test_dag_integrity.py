"""DAG integrity of the three DAGs: ids, schedules, tasks, dependencies, pools, retries, alerts, assets.

The rules every DAG file follows (no import errors, naming, owner, docs, retries and pools per stage, no
database access at parse time) are in ``test_dag_policy.py``.

Parses the folder once per session (``dagbag`` fixture); no metadata database and no task runs here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
import pytest

from weatherinsight.dwd.products import PRODUCTS as REGISTRY
from weatherinsight.pipeline import airflow_backfill_tasks, airflow_tasks
from weatherinsight.settings import load_settings

# One worker runs every Airflow test: they share the session AIRFLOW_HOME (one `db migrate`, one DagBag).
pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.xdist_group("airflow")]

PRODUCTS = list(REGISTRY)  # every registered product: the default product_types
QUARTERLY, BACKFILL, QUALITY = (
    "weatherinsight_quarterly_pipeline",
    "weatherinsight_backfill",
    "weatherinsight_data_quality",
)


CURATED_NAME, CURATED_URI = "weatherinsight_curated_quarterly", "weatherinsight://curated/quarterly"


def _curated() -> Any:
    """The asset pipeline_complete emits and the quality DAG is scheduled on (Airflow imported lazily)."""
    from airflow.sdk import Asset

    return Asset(name=CURATED_NAME, uri=CURATED_URI)


def test_exactly_three_dags(dagbag: Any) -> None:
    # No import errors: test_dag_policy.py (the rules every DAG file follows).
    assert sorted(dagbag.dags) == sorted([QUARTERLY, BACKFILL, QUALITY])


def test_quarterly_schedule_and_run_settings(dagbag: Any) -> None:
    dag = dagbag.dags[QUARTERLY]
    assert dag.timetable.expression == "0 0 1 1,4,7,10 *"
    assert str(dag.timetable.timezone) == "UTC"
    assert dag.catchup is True
    assert dag.max_active_runs == 1
    # No depends_on_past: a failed manual run (a bad quarter param) must not block later scheduled runs.
    assert not any(t.depends_on_past for t in dag.tasks)
    assert dag.params["quarter"] is None
    assert dag.doc_md and "## Triage" in dag.doc_md


def test_quarterly_task_ids_groups_and_dependencies(dagbag: Any) -> None:
    dag = dagbag.dags[QUARTERLY]
    expected = {f"{prefix}_{p}" for prefix in ("ingest", "process", "aggregate") for p in PRODUCTS}
    daily = {"ingest_daily_climate", "process_daily_climate"}  # daily KL: no aggregation of its own (#17)
    assert set(dag.task_ids) == expected | daily | {"resolve_quarter", "pipeline_complete"}
    assert dag.get_task("resolve_quarter").upstream_task_ids == set()
    assert dag.get_task("resolve_quarter").retries == 0
    assert len(expected) == 3 * len(PRODUCTS)
    groups = {tid: dag.get_task(tid).task_group.group_id for tid in expected}
    for p in PRODUCTS:
        assert groups[f"ingest_{p}"] == "ingestion"
        assert groups[f"process_{p}"] == "processing"
        assert groups[f"aggregate_{p}"] == "aggregation"
        assert dag.get_task(f"ingest_{p}").upstream_task_ids == {"resolve_quarter"}
        assert dag.get_task(f"process_{p}").upstream_task_ids == {f"ingest_{p}"}
        reads_daily = {"process_daily_climate"} if p in ("air_temperature", "precipitation") else set()
        assert dag.get_task(f"aggregate_{p}").upstream_task_ids == {f"process_{p}"} | reads_daily
    assert dag.get_task("pipeline_complete").upstream_task_ids == {f"aggregate_{p}" for p in PRODUCTS}
    assert dag.get_task("pipeline_complete").downstream_task_ids == set()
    assert dag.get_task("ingest_daily_climate").upstream_task_ids == {"resolve_quarter"}
    assert dag.get_task("process_daily_climate").upstream_task_ids == {"ingest_daily_climate"}
    assert (groups_daily := dag.get_task("process_daily_climate").task_group.group_id) == "processing", (
        groups_daily
    )


def test_pools_retries_timeouts_and_alerts_as_configured(dagbag: Any) -> None:
    cfg = load_settings()
    dag = dagbag.dags[QUARTERLY]
    expect = {
        "ingest": ("api_calls", cfg.retries.ingest, cfg.sla.ingest_hours),
        "process": ("spark_jobs", cfg.retries.stage, cfg.sla.stage_hours),
        "aggregate": ("spark_jobs", cfg.retries.aggregate, cfg.sla.aggregate_hours),
    }
    assert (cfg.retries.ingest, cfg.retries.stage, cfg.retries.aggregate) == (3, 2, 2)
    for prefix, (pool, retries, hours) in expect.items():
        for p in PRODUCTS:
            task = dag.get_task(f"{prefix}_{p}")
            assert task.pool == pool
            assert task.retries == retries
            assert task.retry_delay == timedelta(minutes=cfg.retry_delay_minutes)
            assert task.execution_timeout == timedelta(hours=hours)
            assert task.on_failure_callback == [airflow_tasks.notify_task_failure]
            assert (
                task.python_callable
                is {
                    "ingest": airflow_tasks.ingest_task,
                    "process": airflow_tasks.process_task,
                    "aggregate": airflow_tasks.aggregate_task,
                }[prefix]
            )
            assert task.op_kwargs["product"] == p
    assert airflow_tasks.pool_specs(load_settings())["spark_jobs"]["slots"] == 3
    assert airflow_tasks.pool_specs(load_settings())["api_calls"]["slots"] == 5


def _render_quarter(dag: Any, task_id: str, **context: Any) -> str:
    template = dag.get_task(task_id).op_kwargs["quarter"]
    return str(dag.get_template_env().from_string(template).render(**context))


@pytest.mark.parametrize(
    ("fires_at", "quarter"),
    [
        (pendulum.datetime(2025, 1, 1, tz="UTC"), "2024Q4"),  # the Jan 1 run: previous year's Q4
        (pendulum.datetime(2024, 4, 1, tz="UTC"), "2024Q1"),  # the Apr 1 run: Q1 of the same year
        (pendulum.datetime(2024, 10, 1, tz="UTC"), "2024Q3"),
    ],
)
def test_scheduled_run_processes_the_quarter_that_just_ended(
    dagbag: Any, fires_at: Any, quarter: str
) -> None:
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import DataInterval, TimeRestriction

    dag = dagbag.dags[QUARTERLY]
    timetable = coerce_to_core_timetable(dag.timetable)
    # The scheduler's next run after the interval that ended three months before ``fires_at``.
    previous_end = fires_at.subtract(months=3)
    info = timetable.next_dagrun_info(
        last_automated_data_interval=DataInterval(previous_end.subtract(months=3), previous_end),
        restriction=TimeRestriction(dag.start_date, None, True),
    )
    assert info is not None
    assert info.run_after == fires_at  # it fires at 00:00 UTC on the first day of the next quarter
    assert info.data_interval.end == fires_at
    resolve = airflow_tasks.resolve_quarter_task
    assert resolve(params={"quarter": None}, data_interval_start=info.data_interval.start) == quarter
    # A manual run for that date (dag.test, `airflow dags trigger -l`) covers the same quarter.
    manual = timetable.infer_manual_data_interval(run_after=fires_at)
    assert resolve(params={}, data_interval_start=manual.start) == quarter
    # Every data task takes the quarter resolve_quarter returned.
    for task_id in ("ingest_wind", "process_wind", "aggregate_wind", "pipeline_complete"):
        assert dag.get_task(task_id).op_kwargs["quarter"] == "{{ ti.xcom_pull(task_ids='resolve_quarter') }}"


def test_quality_dag_schedule_sweep_and_alerting(dagbag: Any) -> None:
    dag = dagbag.dags[QUALITY]
    # Cron OR asset (docs/design.md §6): six hours after the quarterly run, or when a quarter is published.
    assert type(dag.timetable).__name__ == "AssetOrTimeSchedule"
    assert dag.timetable.timetable.expression == "0 6 1 1,4,7,10 *"
    assert str(dag.timetable.timetable.timezone) == "UTC"
    assert type(dag.timetable.timetable).__name__ == "CronDataIntervalTimetable"
    # Every run sweeps all pending quarters: no catch-up of past cron runs, one run at a time.
    assert dag.catchup is False and dag.max_active_runs == 1
    assert dag.task_ids == ["quarters_to_check", "run_quality_checks"]
    task = dag.get_task("run_quality_checks")
    # One mapped check per quarter the run names (map index = the quarter).
    assert type(task).__name__ == "MappedOperator"
    assert task.upstream_task_ids == {"quarters_to_check"}
    assert task.partial_kwargs["python_callable"] is airflow_tasks.quality_check_task
    assert task.map_index_template == "{{ task.op_kwargs['quarter'] }}"
    assert task.retries == load_settings().retries.quality
    assert task.on_failure_callback == [airflow_tasks.notify_task_failure]
    assert dag.get_task("quarters_to_check").python_callable is airflow_tasks.quarters_to_check
    assert dag.get_task("quarters_to_check").retries == 0
    assert dag.doc_md and "## Triage" in dag.doc_md


def test_pipeline_complete_emits_the_curated_asset_that_schedules_the_quality_dag(dagbag: Any) -> None:
    complete = dagbag.dags[QUARTERLY].get_task("pipeline_complete")
    assert complete.outlets == [_curated()]
    assert [t.task_id for t in dagbag.dags[QUARTERLY].tasks if t.outlets] == ["pipeline_complete"]
    condition = dagbag.dags[QUALITY].timetable.asset_condition
    assert type(condition).__name__ == "AssetAll" and list(condition.objects) == [_curated()]


def test_pipeline_complete_puts_its_quarter_on_the_asset_event(
    dagbag: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk.execution_time.context import OutletEventAccessors

    complete = dagbag.dags[QUARTERLY].get_task("pipeline_complete")
    called: list[tuple[str, list[str]]] = []

    def fake_complete(quarter: str, products: list[str] | None = None) -> dict[str, Any]:
        called.append((quarter, list(products or [])))
        return {"ok": True}

    monkeypatch.setattr(airflow_tasks, "pipeline_complete_task", fake_complete)
    events = OutletEventAccessors()
    assert complete.python_callable("2024Q1", PRODUCTS, outlet_events=events) == {"ok": True}
    assert called == [("2024Q1", PRODUCTS)]
    assert events[_curated()].extra == {"quarter": "2024Q1"}

    def failing(quarter: str, products: list[str] | None = None) -> dict[str, Any]:
        raise RuntimeError("not complete")

    monkeypatch.setattr(airflow_tasks, "pipeline_complete_task", failing)
    events = OutletEventAccessors()
    with pytest.raises(RuntimeError):
        complete.python_callable("2024Q2", PRODUCTS, outlet_events=events)
    assert events[_curated()].extra == {}  # no quarter announced for an incomplete quarter


def test_backfill_dag_is_manual_with_typed_params(dagbag: Any) -> None:
    dag = dagbag.dags[BACKFILL]
    assert type(dag.timetable).__name__ == "NullTimetable"  # schedule=None: manual only
    assert set(dag.params.keys()) == {
        "start_year",
        "end_year",
        "quarters",
        "products",
        "force_reprocess",
        "periods",
    }
    assert dag.get_task("validate_params").python_callable is airflow_backfill_tasks.backfill_plan_task
    cfg = load_settings()
    # The plan's products, each ingested once for the whole plan (issue #19): one mapped instance per product.
    plan_products = dag.get_task("plan_products")
    assert plan_products.python_callable is airflow_backfill_tasks.plan_products_task
    assert (plan_products.retries, plan_products.upstream_task_ids) == (0, {"validate_params"})
    ingest = dag.get_task("ingest_product")
    assert type(ingest).__name__ == "DecoratedMappedOperator" and ingest.task_group.group_id is None
    assert (ingest.pool, ingest.retries) == ("api_calls", cfg.retries.ingest)
    assert ingest.python_callable is airflow_backfill_tasks.backfill_ingest_product_task
    assert (ingest.priority_weight, ingest.weight_rule) == (1, "absolute")
    assert ingest.upstream_task_ids == {"plan_products"}
    # One mapped task-group instance per quarter × product; each step in its stage's pool.
    steps = {
        "process_quarter_product": (
            "spark_jobs",
            cfg.retries.stage,
            airflow_backfill_tasks.backfill_process_task,
        ),
        "aggregate_quarter_product": (
            "spark_jobs",
            cfg.retries.aggregate,
            airflow_backfill_tasks.backfill_aggregate_task,
        ),
    }
    for task_id, (pool, retries, fn) in steps.items():
        t = dag.get_task(task_id)
        assert type(t.task_group).__name__ == "MappedTaskGroup", task_id
        assert (t.pool, t.retries, t.task_group.group_id) == (pool, retries, "quarter_product"), task_id
        assert t.python_callable is fn
        # backfill.max_parallel_quarters (1 in the YAML) quarters' worth of pairs (one per product) per step.
        assert t.max_active_tis_per_dagrun == len(REGISTRY), task_id
        # The lowest priority: the quarterly pipeline's tasks go first when both wait for a pool slot.
        assert (t.priority_weight, t.weight_rule) == (1, "absolute"), task_id
    # Every quarterly task in a pool has a downstream task: its (downstream-rule) weight is 2 or more.
    for t in dagbag.dags[QUARTERLY].tasks:
        if t.pool in ("api_calls", "spark_jobs"):
            assert t.weight_rule == "downstream" and t.get_flat_relative_ids(upstream=False), t.task_id
    # Every pair waits for all the ingests and runs when some failed (it skips when its own product's did).
    # Inside the mapped group each step also depends on validate_params (it supplies the group's kwargs).
    process = dag.get_task("process_quarter_product")
    assert process.upstream_task_ids == {"ingest_product", "validate_params"}
    assert process.trigger_rule == "all_done_min_one_success"
    assert dag.get_task("aggregate_quarter_product").upstream_task_ids == {
        "process_quarter_product",
        "validate_params",
        "process_daily_inputs",
    }
    assert dag.get_task("aggregate_quarter_product").trigger_rule == "all_success"
    # The daily KL values of the plan's quarters: ingested, then staged once, before any pair aggregates.
    daily = {
        "ingest_daily_inputs": (
            "api_calls",
            cfg.retries.ingest,
            airflow_backfill_tasks.backfill_ingest_daily_task,
        ),
        "process_daily_inputs": (
            "spark_jobs",
            cfg.retries.stage,
            airflow_backfill_tasks.backfill_process_daily_task,
        ),
    }
    for task_id, (pool, retries, fn) in daily.items():
        t = dag.get_task(task_id)
        assert (t.pool, t.retries, t.python_callable) == (pool, retries, fn), task_id
        assert (t.priority_weight, t.weight_rule) == (1, "absolute"), task_id
    assert dag.get_task("ingest_daily_inputs").upstream_task_ids == {"validate_params"}
    assert dag.get_task("process_daily_inputs").upstream_task_ids == {"ingest_daily_inputs"}
    assert dag.get_task("aggregate_quarter_product").downstream_task_ids == {
        "backfill_summary",
        "announce_quarters",
    }
    assert dag.get_task("validate_params").retries == 0
    summary = dag.get_task("backfill_summary")
    assert summary.trigger_rule == "all_done"
    assert summary.python_callable is airflow_backfill_tasks.backfill_summary_task
    # Published quarters are announced on the curated asset even when other pairs failed; both are
    # leaves, so a failed summary still fails the run.
    announce = dag.get_task("announce_quarters")
    assert announce.trigger_rule == "all_done"
    assert announce.outlets == [_curated()]
    assert {t.task_id for t in dag.leaves} == {"backfill_summary", "announce_quarters"}
    assert dag.doc_md and "## Triage" in dag.doc_md
