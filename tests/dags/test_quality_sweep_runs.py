"""Published quarters reach the quality DAG: the backfill announces them, and every quality run sweeps the
database for published, unchecked quarters (each published state checked exactly once, never an
unpublished quarter), whatever events started it.

Runs the real DAGs with ``dag.test()`` (the session AIRFLOW_HOME of ``tests/fixtures/airflow.py``) and reads
Airflow's metadata database (``AssetEvent`` rows) and the curated database (``quality_check_results``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pendulum
import pytest
from sqlalchemy import select

from tests.dags.test_dag_runs import _no_retries, _states, _use
from tests.fixtures.smtp import SmtpSink
from tests.pipeline.conftest import published_rows
from tests.quality.planting import ALL_PRODUCTS, plant
from weatherinsight.mirror.layout import load_spec
from weatherinsight.pipeline import airflow_backfill_tasks
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, tables

# One worker runs every Airflow test: they share the session AIRFLOW_HOME (one `db migrate`, one DagBag).
pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.xdist_group("airflow")]

BACKFILL, QUALITY = "weatherinsight_backfill", "weatherinsight_data_quality"
CURATED_URI = "weatherinsight://curated/quarterly"


def _curated_events(run_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(uri, source task, extra) of every asset event the run emitted, in emission order."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        events = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetEvent.source_run_id == run_id)
            .order_by(AssetEvent.id)
        ).all()
        return [(e.asset.uri, str(e.source_task_id), dict(e.extra)) for e in events]


def test_backfill_runs_each_quarter_product_and_announces_the_published_quarters(
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
    conf = {"start_year": year, "end_year": year, "quarters": [3, 4], "products": ["wind", "pressure"]}
    with _no_retries(dag):
        run = dag.test(logical_date=pendulum.datetime(2030, 2, 1, tz="UTC"), run_conf=conf)
    assert run.state == "success", _states(run)
    states = _states(run)
    # One ingest per product for both quarters, then four quarter × product pairs, each its own
    # process → aggregate instance, labelled.
    assert [states[("ingest_product", i)] for i in range(2)] == ["success"] * 2
    assert ("ingest_product", 2) not in states
    for step in ("process_quarter_product", "aggregate_quarter_product"):
        assert [states[(step, i)] for i in range(4)] == ["success"] * 4
        assert (step, 4) not in states

    def labels(task_id: str) -> set[str | None]:
        return {ti.rendered_map_index for ti in run.get_task_instances() if ti.task_id == task_id}

    assert labels("ingest_product") == {"wind", "pressure"}
    assert labels("process_quarter_product") == {f"{q} {p}" for q in (q3, q4) for p in ("wind", "pressure")}
    assert states[("announce_quarters", -1)] == "success"
    for q in (q3, q4):
        assert published_rows(s, "pressure", q)[0] == f"{q}_v1"
        assert published_rows(s, "wind", q)[0] == f"{q}_v1"
    assert _curated_events(run.run_id) == [
        (CURATED_URI, "announce_quarters", {"quarters": [str(q3), str(q4)], "source": "backfill"})
    ]

    # The year before the mirror has no pressure data: that pair fails, the run
    # fails at the summary, and the no-op quarter (unchanged inputs) is still announced.
    before = Quarter(year - 1, 4)
    conf = {"start_year": year - 1, "end_year": year, "quarters": [4], "products": ["pressure"]}
    with _no_retries(dag):
        mixed = dag.test(logical_date=pendulum.datetime(2030, 3, 1, tz="UTC"), run_conf=conf)
    assert mixed.state == "failed"
    states = _states(mixed)
    assert states[("backfill_summary", -1)] == "failed"
    assert states[("announce_quarters", -1)] == "success"
    assert states[("aggregate_quarter_product", 1)] == "success"
    # Nothing to ingest or stage for that year; aggregation finds no staged rows and fails.
    assert [states[(step.task_id, 0)] for step in airflow_backfill_tasks.BACKFILL_STEPS] == [
        "success",
        "success",
        "failed",
    ]
    assert published_rows(s, "pressure", before) == (None, 0)
    assert published_rows(s, "pressure", q4)[0] == f"{q4}_v1"  # unchanged: no new version
    assert _curated_events(mixed.run_id) == [
        (CURATED_URI, "announce_quarters", {"quarters": [str(q4)], "source": "backfill"})
    ]


def test_quality_runs_sweep_published_quarters_once_each(
    airflow_db: dict[str, str],
    dagbag: Any,
    settings: Settings,
    smtp_server: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _use(monkeypatch, settings, smtp_server)
    plant(settings, "2024Q1")
    plant(settings, "2024Q2", nulls={"rh_mean": 30})  # fatal: moisture rh_mean 27.273 % NULL
    plant(settings, "2024Q3", products=["wind", "pressure"])  # not published: the other products missing
    dag = dagbag.dags[QUALITY]
    with _no_retries(dag):
        run = dag.test(logical_date=pendulum.datetime(2032, 1, 1, 6, tz="UTC"))
    # Each quarter has its own mapped check: the fatal one fails, the other still runs and passes; the
    # unpublished quarter and the run's own data interval (2031Q4) are not checked.
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
    t = tables.quality_check_results
    engine = db.get_engine(settings.database_url)
    with engine.connect() as conn:
        fatal = conn.execute(
            select(t.c.year, t.c.quarter, t.c.check_name, t.c.product, t.c.measured_value).where(
                t.c.passed.is_(False), t.c.severity == "fatal"
            )
        ).all()
        runs = conn.execute(select(t.c.year, t.c.quarter, t.c.run_id).distinct()).all()
    assert [tuple(r) for r in fatal] == [(2024, 2, "null_percentage", "moisture", 27.273)]
    assert sorted((r.year, r.quarter) for r in runs) == [(2024, 1), (2024, 2)]  # one check run per quarter
    (msg,) = smtp_server.messages
    assert msg["Subject"] == "[WeatherInsight] FATAL data-quality findings for 2024Q2"

    # The next run (any trigger) finds nothing new: no quarter is checked twice.
    with _no_retries(dag):
        again = dag.test(logical_date=pendulum.datetime(2032, 4, 1, 6, tz="UTC"))
    assert again.state == "success"
    assert _states(again) == {("quarters_to_check", -1): "success", ("run_quality_checks", -1): "skipped"}
    # 2024Q3 is published later: the following run checks exactly that quarter.
    plant(settings, "2024Q3", products=[p for p in ALL_PRODUCTS if p not in ("wind", "pressure")])
    with _no_retries(dag):
        third = dag.test(logical_date=pendulum.datetime(2032, 7, 1, 6, tz="UTC"))
    assert third.state == "success", _states(third)
    with engine.connect() as conn:
        runs = conn.execute(select(t.c.year, t.c.quarter, t.c.run_id).distinct()).all()
    assert sorted((r.year, r.quarter) for r in runs) == [(2024, 1), (2024, 2), (2024, 3)]
