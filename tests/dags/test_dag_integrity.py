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

from weatherinsight.pipeline import airflow_tasks
from weatherinsight.settings import load_settings

# One worker runs every Airflow test: they share the session AIRFLOW_HOME (one `db migrate`, one DagBag).
pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.xdist_group("airflow")]

PRODUCTS = ["air_temperature", "precipitation", "wind", "pressure", "moisture"]
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
    assert all(t.depends_on_past for t in dag.tasks)
    assert dag.doc_md and "## Triage" in dag.doc_md


def test_quarterly_task_ids_groups_and_dependencies(dagbag: Any) -> None:
    dag = dagbag.dags[QUARTERLY]
    expected = {f"{prefix}_{p}" for prefix in ("ingest", "process", "aggregate") for p in PRODUCTS}
    assert set(dag.task_ids) == expected | {"pipeline_complete"}
    assert len(expected) == 15
    groups = {tid: dag.get_task(tid).task_group.group_id for tid in expected}
    for p in PRODUCTS:
        assert groups[f"ingest_{p}"] == "ingestion"
        assert groups[f"process_{p}"] == "processing"
        assert groups[f"aggregate_{p}"] == "aggregation"
        assert dag.get_task(f"ingest_{p}").upstream_task_ids == set()
        assert dag.get_task(f"process_{p}").upstream_task_ids == {f"ingest_{p}"}
        assert dag.get_task(f"aggregate_{p}").upstream_task_ids == {f"process_{p}"}
    assert dag.get_task("pipeline_complete").upstream_task_ids == {f"aggregate_{p}" for p in PRODUCTS}
    assert dag.get_task("pipeline_complete").downstream_task_ids == set()


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
    rendered = _render_quarter(dag, "ingest_wind", data_interval_start=info.data_interval.start)
    assert rendered == quarter
    assert _render_quarter(dag, "pipeline_complete", data_interval_start=info.data_interval.start) == quarter
    # A manual run for that date (dag.test, `airflow dags trigger -l`) covers the same quarter.
    manual = timetable.infer_manual_data_interval(run_after=fires_at)
    assert airflow_tasks.quarter_of_interval(manual.start) == quarter


def test_quality_dag_schedule_quarter_param_and_alerting(dagbag: Any) -> None:
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import DataInterval, TimeRestriction

    dag = dagbag.dags[QUALITY]
    # Cron OR asset (docs/design.md §6): six hours after the quarterly run, or when pipeline_complete publishes.
    assert type(dag.timetable).__name__ == "AssetOrTimeSchedule"
    assert dag.timetable.timetable.expression == "0 6 1 1,4,7,10 *"
    assert str(dag.timetable.timetable.timezone) == "UTC"
    assert type(dag.timetable.timetable).__name__ == "CronDataIntervalTimetable"
    assert dag.catchup is True and dag.max_active_runs == 1
    assert dag.task_ids == ["quarters_to_check", "run_quality_checks"]
    task = dag.get_task("run_quality_checks")
    # One mapped check per quarter the run names (map index = the quarter).
    assert type(task).__name__ == "MappedOperator"
    assert task.upstream_task_ids == {"quarters_to_check"}
    assert task.partial_kwargs["python_callable"] is airflow_tasks.quality_check_task
    assert task.map_index_template == "{{ task.op_kwargs['quarter'] }}"
    assert task.retries == load_settings().retries.quality
    assert task.on_failure_callback == [airflow_tasks.notify_task_failure]
    assert dag.get_task("quarters_to_check").retries == 0
    assert dag.doc_md and "## Triage" in dag.doc_md
    info = coerce_to_core_timetable(dag.timetable).next_dagrun_info(
        last_automated_data_interval=DataInterval(
            pendulum.datetime(2023, 10, 1, 6, tz="UTC"), pendulum.datetime(2024, 1, 1, 6, tz="UTC")
        ),
        restriction=TimeRestriction(dag.start_date, None, True),
    )
    assert info is not None and info.run_after == pendulum.datetime(2024, 4, 1, 6, tz="UTC")
    start = info.data_interval.start
    no_events = _events()
    assert _quarters(
        dag, params={"quarter": None}, triggering_asset_events=no_events, data_interval_start=start
    ) == ["2024Q1"]
    by_hand = _quarters(
        dag, params={"quarter": "2021Q3"}, triggering_asset_events=no_events, data_interval_start=start
    )
    assert by_hand == ["2021Q3"]


def _quarters(dag: Any, **context: Any) -> list[str]:
    """The quarters ``quarters_to_check`` returns for this context (the op_kwargs of the mapped checks)."""
    return [kw["quarter"] for kw in dag.get_task("quarters_to_check").python_callable(**context)]


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


def test_asset_triggered_quality_run_checks_every_quarter_in_its_events(dagbag: Any) -> None:
    from weatherinsight.errors import InvalidQuarterError

    dag = dagbag.dags[QUALITY]
    # Asset-triggered runs have no logical date and no data interval: only the events name the quarters.
    ctx: dict[str, Any] = {"params": {"quarter": None}, "dag_run": _FakeRun(pendulum.now("UTC"))}
    one = _events(("2024Q2", pendulum.datetime(2024, 7, 1, 0, 40, tz="UTC")))
    assert _quarters(dag, triggering_asset_events=one, **ctx) == ["2024Q2"]
    # Several queued events (a backfill, a catch-up of the quarterly DAG) start one run: every quarter they
    # name is checked once, oldest first, whatever the order of the events.
    many = _events(
        ("2024Q3", pendulum.datetime(2024, 10, 1, 1, tz="UTC")),
        ("2023Q4", pendulum.datetime(2024, 10, 1, 2, tz="UTC")),
        ("2024Q2", pendulum.datetime(2024, 7, 1, 1, tz="UTC")),
        ("2024Q3", pendulum.datetime(2024, 10, 2, 1, tz="UTC")),
        (None, pendulum.datetime(2024, 10, 3, tz="UTC")),
    )
    assert _quarters(dag, triggering_asset_events=many, **ctx) == ["2023Q4", "2024Q2", "2024Q3"]
    # A param still wins; events without a quarter fall back to the quarter before run_after.
    assert _quarters(
        dag, triggering_asset_events=many, params={"quarter": "2021Q3"}, dag_run=ctx["dag_run"]
    ) == ["2021Q3"]
    bare = _events((None, pendulum.datetime(2025, 2, 3, tz="UTC")))
    late = {**ctx, "dag_run": _FakeRun(pendulum.datetime(2025, 2, 3, tz="UTC"))}
    assert _quarters(dag, triggering_asset_events=bare, **late) == ["2024Q4"]
    with pytest.raises(InvalidQuarterError, match="2024Q5"):
        _quarters(dag, triggering_asset_events=one, params={"quarter": "2024Q5"}, dag_run=ctx["dag_run"])
    # A backfill's events list all its quarters: the run holding the list's first event checks them all; a
    # later event of the list (left for a later run by Airflow 3.3's queue) is not checked twice.
    first, later = (pendulum.datetime(2025, 3, 1, 0, 0, s, tz="UTC") for s in (1, 2))
    batch = ["2023Q3", "2023Q4"]
    first_only = _events(("2023Q3", first, batch))
    assert _quarters(dag, triggering_asset_events=first_only, **ctx) == batch
    both = _events(("2023Q4", later, batch), ("2023Q3", first, batch))
    assert _quarters(dag, triggering_asset_events=both, **ctx) == batch
    leftover = _events(("2023Q4", later, batch), ("2024Q4", pendulum.datetime(2025, 4, 1, tz="UTC")))
    assert _quarters(dag, triggering_asset_events=leftover, **ctx) == ["2024Q4"]


class _FakeRun:
    def __init__(self, run_after: Any) -> None:
        self.run_after = run_after


def _events(*quarters: tuple[Any, ...]) -> Any:
    """A real ``triggering_asset_events`` accessor holding CURATED events: (quarter, timestamp[, batch]).

    With a batch (``backfill_quarters``) the event is the backfill's; without, pipeline_complete's.
    """
    from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult
    from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor

    return TriggeringAssetEventsAccessor.build(
        AssetEventDagRunReferenceResult(
            asset={"name": CURATED_NAME, "uri": CURATED_URI, "extra": {}},
            extra=({"quarter": q} if q else {})
            | ({"source": "backfill", "backfill_quarters": rest[0]} if rest else {}),
            source_task_id="announce_quarters" if rest else "pipeline_complete",
            source_dag_id=BACKFILL if rest else QUARTERLY,
            source_run_id=f"scheduled__{ts.isoformat()}",
            source_map_index=-1,
            source_aliases=[{"name": "weatherinsight_backfill_curated_quarterly"}] if rest else [],
            timestamp=ts,
        )
        for q, ts, *rest in quarters
    )


def test_backfill_dag_is_manual_with_typed_params(dagbag: Any) -> None:
    dag = dagbag.dags[BACKFILL]
    assert type(dag.timetable).__name__ == "NullTimetable"  # schedule=None: manual only
    assert set(dag.params.keys()) == {"start_year", "end_year", "quarters", "products", "force_reprocess"}
    assert dag.get_task("validate_params").python_callable is airflow_tasks.backfill_plan_task
    quarter_task = dag.get_task("backfill_quarter")
    assert quarter_task.downstream_task_ids == {"backfill_summary", "announce_quarters"}
    assert quarter_task.upstream_task_ids == {"validate_params"}
    # Quarters run one at a time unless backfill.max_parallel_quarters says otherwise.
    assert quarter_task.max_active_tis_per_dag == load_settings().backfill.max_parallel_quarters == 1
    assert dag.get_task("validate_params").retries == 0
    summary = dag.get_task("backfill_summary")
    assert summary.trigger_rule == "all_done"
    assert summary.python_callable is airflow_tasks.backfill_summary_task
    # Published quarters are announced on the curated asset (through an alias: one event per quarter) even
    # when other quarters failed; both are leaves, so a failed summary still fails the run.
    announce = dag.get_task("announce_quarters")
    assert announce.trigger_rule == "all_done"
    assert [(type(o).__name__, o.name) for o in announce.outlets] == [
        ("AssetAlias", "weatherinsight_backfill_curated_quarterly")
    ]
    assert {t.task_id for t in dag.leaves} == {"backfill_summary", "announce_quarters"}
    assert dag.doc_md and "## Triage" in dag.doc_md
