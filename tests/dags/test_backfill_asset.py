"""Backfilled quarters reach the quality DAG: one curated-quarter asset event per published quarter, and a
quality run started by several events checks every quarter they name.

Runs the real DAGs with ``dag.test()`` (the session AIRFLOW_HOME of ``tests/fixtures/airflow.py``) and reads
Airflow's metadata database (``AssetEvent`` rows) and the curated database (``quality_check_results``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pendulum
import pytest
from sqlalchemy import delete, select, update

from tests.dags.test_dag_runs import _no_retries, _states, _use
from tests.fixtures.smtp import SmtpSink
from tests.pipeline.conftest import published_rows
from tests.quality.planting import plant
from weatherinsight.mirror.layout import load_spec
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, tables

# One worker runs every Airflow test: they share the session AIRFLOW_HOME (one `db migrate`, one DagBag).
pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.xdist_group("airflow")]

BACKFILL, QUALITY = "weatherinsight_backfill", "weatherinsight_data_quality"
CURATED_NAME, CURATED_URI = "weatherinsight_curated_quarterly", "weatherinsight://curated/quarterly"
ALIAS = "weatherinsight_backfill_curated_quarterly"


def _curated_events(run_id: str) -> list[tuple[str, str, dict[str, Any], list[str]]]:
    """(uri, source task, extra, aliases) of every asset event the run emitted, in emission order."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        events = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetEvent.source_run_id == run_id)
            .order_by(AssetEvent.id)
        ).all()
        return [
            (e.asset.uri, str(e.source_task_id), dict(e.extra), sorted(a.name for a in e.source_aliases))
            for e in events
        ]


def _on_run_creation(monkeypatch: pytest.MonkeyPatch, hook: Callable[[Any, Callable[[], Any]], Any]) -> None:
    """Make ``dag.test()`` call ``hook(session, create)`` where it creates its run (after syncing the DAGs).

    ``create()`` creates the run; the hook returns it. Lets a test act as the scheduler does around a run.
    """
    import airflow.models.dagrun as dagrun_module

    create_run = dagrun_module.get_or_create_dagrun

    def patched(**kwargs: Any) -> Any:
        return hook(kwargs["session"], lambda: create_run(**kwargs))

    monkeypatch.setattr(dagrun_module, "get_or_create_dagrun", patched)


def _set_paused(session: Any, dag_id: str, paused: bool) -> None:
    """Pause or unpause ``dag_id`` with an empty asset queue (nothing left from other tests)."""
    from airflow.models.asset import AssetDagRunQueue
    from airflow.models.dag import DagModel

    session.execute(update(DagModel).where(DagModel.dag_id == dag_id).values(is_paused=paused))
    session.execute(delete(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == dag_id))


def _scheduler_consumes(dag_id: str) -> tuple[list[dict[str, Any]], Any]:
    """Let Airflow's scheduler create the asset-triggered run of ``dag_id`` from its queue.

    Returns the extras of the events that run consumed and the ``triggering_asset_events`` its tasks get;
    the run is deleted again (no scheduler executes it here).
    """
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult
    from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunType

    with create_session() as session:
        SchedulerJobRunner(job=Job())._create_dag_runs_asset_triggered(
            dag_models=[session.get(DagModel, dag_id)], session=session
        )
        run = session.scalars(
            select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_type == DagRunType.ASSET_TRIGGERED)
        ).one()
        consumed = sorted(run.consumed_asset_events, key=lambda e: e.timestamp)
        # The events as the task sees them (``triggering_asset_events`` of the run).
        accessor = TriggeringAssetEventsAccessor.build(
            AssetEventDagRunReferenceResult(
                asset={"name": e.asset.name, "uri": e.asset.uri, "extra": {}},
                extra=e.extra,
                source_task_id=e.source_task_id,
                source_dag_id=e.source_dag_id,
                source_run_id=e.source_run_id,
                source_map_index=e.source_map_index,
                source_aliases=[{"name": a.name} for a in e.source_aliases],
                timestamp=e.timestamp,
            )
            for e in consumed
        )
        extras = [dict(e.extra) for e in consumed]
        session.delete(run)
    return extras, accessor


def test_backfill_emits_one_curated_event_per_published_quarter(
    airflow_db: dict[str, str],
    dagbag: Any,
    mirror_dir: Path,
    mirror_url: str,
    mirror_settings_for: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = mirror_settings_for(mirror_url)
    _use(monkeypatch, s)
    # The mirror holds data from 1 January of its first year on: that year's Q3 and Q4 have ended.
    year = load_spec(mirror_dir).first_year
    q3, q4 = Quarter(year, 3), Quarter(year, 4)
    assert q4 <= Quarter.last_complete()
    dag = dagbag.dags[BACKFILL]

    def quality_unpaused(session: Any, create: Callable[[], Any]) -> Any:
        # As deployed: the quality DAG is on, so the events queue it (asset_dag_run_queue).
        _set_paused(session, QUALITY, False)
        session.commit()
        return create()

    conf = {"start_year": year, "end_year": year, "quarters": [3, 4], "products": ["wind", "pressure"]}
    try:
        with _no_retries(dag), monkeypatch.context() as patch:
            _on_run_creation(patch, quality_unpaused)
            run = dag.test(logical_date=pendulum.datetime(2030, 2, 1, tz="UTC"), run_conf=conf)
        assert run.state == "success", _states(run)
        assert _states(run)[("announce_quarters", -1)] == "success"
        for q in (q3, q4):
            assert published_rows(s, "pressure", q)[0] == f"{q}_v1"
        both = [str(q3), str(q4)]
        assert _curated_events(run.run_id) == [
            (
                CURATED_URI,
                "announce_quarters",
                {"quarter": str(q), "source": "backfill", "backfill_quarters": both},
                [ALIAS],
            )
            for q in (q3, q4)
        ]
        # Airflow 3.3's scheduler: the quality run it starts consumes only the first event (the queue row
        # carries that event's time); the first event lists both quarters, so both are checked.
        consumed, events = _scheduler_consumes(QUALITY)
        assert consumed == [{"quarter": str(q3), "source": "backfill", "backfill_quarters": both}]
        quarters_to_check = dagbag.dags[QUALITY].get_task("quarters_to_check").python_callable
        assert quarters_to_check(params={"quarter": None}, triggering_asset_events=events) == [
            {"quarter": str(q3)},
            {"quarter": str(q4)},
        ]
    finally:
        from airflow.utils.session import create_session

        with create_session() as session:
            _set_paused(session, QUALITY, True)

    # The year before the mirror has no pressure data: that quarter fails and gets no event, while the
    # quarter that is a no-op (unchanged inputs) counts as published and is announced again.
    before = Quarter(year - 1, 4)
    conf = {"start_year": year - 1, "end_year": year, "quarters": [4], "products": ["pressure"]}
    with _no_retries(dag):
        mixed = dag.test(logical_date=pendulum.datetime(2030, 3, 1, tz="UTC"), run_conf=conf)
    assert mixed.state == "failed"
    states = _states(mixed)
    assert states[("backfill_summary", -1)] == "failed"
    assert states[("announce_quarters", -1)] == "success"
    assert published_rows(s, "pressure", before) == (None, 0)
    assert published_rows(s, "pressure", q4)[0] == f"{q4}_v1"  # unchanged: no new version
    assert _curated_events(mixed.run_id) == [
        (
            CURATED_URI,
            "announce_quarters",
            {"quarter": str(q4), "source": "backfill", "backfill_quarters": [str(q4)]},
            [ALIAS],
        ),
    ]


def test_quality_run_started_by_two_events_checks_both_quarters(
    airflow_db: dict[str, str],
    dagbag: Any,
    settings: Settings,
    smtp_server: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow.assets.manager import asset_manager
    from airflow.models.asset import AssetModel

    _use(monkeypatch, settings, smtp_server)
    plant(settings, "2024Q1")
    plant(settings, "2024Q2", nulls={"rh_mean": 30})  # fatal: moisture rh_mean 27.273 % NULL

    def run_with_queued_events(session: Any, create: Callable[[], Any]) -> Any:
        # The scheduler's part of an asset-triggered run: two events are registered (two quarters published,
        # as two pipeline_complete runs announce them), the run is created and consumes both.
        asset = session.scalars(
            select(AssetModel).where(AssetModel.name == CURATED_NAME, AssetModel.uri == CURATED_URI)
        ).one()
        events = [
            asset_manager.register_asset_change(asset=asset, extra={"quarter": q}, session=session)
            for q in ("2024Q2", "2024Q1")
        ]
        dag_run = create()
        dag_run.consumed_asset_events.extend(events)
        session.commit()
        return dag_run

    _on_run_creation(monkeypatch, run_with_queued_events)
    dag = dagbag.dags[QUALITY]
    with _no_retries(dag):
        run = dag.test(logical_date=pendulum.datetime(2032, 1, 1, 6, tz="UTC"))
    # Each quarter has its own mapped check: the fatal one fails, the other still runs and passes.
    assert run.state == "failed"
    assert _states(run) == {
        ("quarters_to_check", -1): "success",
        ("run_quality_checks", 0): "success",
        ("run_quality_checks", 1): "failed",
    }
    assert {ti.map_index: ti.rendered_map_index for ti in run.get_task_instances() if ti.map_index >= 0} == {
        0: "2024Q1",
        1: "2024Q2",
    }
    with db.get_engine(settings.database_url).connect() as conn:
        t = tables.quality_check_results
        checked = conn.execute(select(t.c.year, t.c.quarter).distinct().order_by(t.c.year, t.c.quarter)).all()
        fatal = conn.execute(
            select(t.c.year, t.c.quarter, t.c.check_name, t.c.product, t.c.measured_value).where(
                t.c.passed.is_(False), t.c.severity == "fatal"
            )
        ).all()
        runs = conn.execute(select(t.c.year, t.c.quarter, t.c.run_id).distinct()).all()
    # Both quarters named by the events were checked, and only they (not the run's data interval 2031Q4).
    assert [tuple(r) for r in checked] == [(2024, 1), (2024, 2)]
    assert [tuple(r) for r in fatal] == [(2024, 2, "null_percentage", "moisture", 27.273)]
    assert sorted((r.year, r.quarter) for r in runs) == [(2024, 1), (2024, 2)]  # one check run per quarter
    (msg,) = smtp_server.messages
    assert msg["Subject"] == "[WeatherInsight] FATAL data-quality findings for 2024Q2"
