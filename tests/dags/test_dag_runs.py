"""The three DAGs run end to end with ``dag.test()`` on the DWD mirror (one throw-away AIRFLOW_HOME).

``dag.test()`` runs the tasks in this process, so the ``WEATHERINSIGHT_*`` environment set here reaches the
package's ``load_settings()``. It returns the DagRun and never raises: every test asserts the run state.
Retries are switched off on the parsed DAG objects for the duration of a run, so a planted failure fails at
once instead of waiting for the configured retry delay.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pendulum
import pytest
from sqlalchemy import select

from tests.fixtures.mirror import FreshMirror
from tests.fixtures.smtp import SmtpSink
from tests.pipeline.conftest import cli_env, corrupt_product, published_rows, staged_stations
from tests.quality.planting import plant
from weatherinsight.dwd.products import PRODUCTS as REGISTRY
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, tables

# One worker runs every Airflow test: they share the session AIRFLOW_HOME (one `db migrate`, one DagBag).
pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.xdist_group("airflow")]

PRODUCTS = tuple(REGISTRY)  # every registered product: the default product_types


@contextmanager
def _no_retries(dag: Any) -> Iterator[None]:
    """Run ``dag`` without retries, and restore what ``dag.test()`` changes on the shared DagBag's DAG object.

    ``dag.test(run_conf=…)`` writes the run's conf into ``dag.params`` and the tasks' params; without the
    restore a ``quarter`` given to one test run leaks into the next test's runs of the same DAG.
    """
    saved = {t.task_id: t.retries for t in dag.tasks}
    params = copy.deepcopy(dag.params)
    task_params = {t.task_id: copy.deepcopy(t.params) for t in dag.tasks}
    for t in dag.tasks:
        t.retries = 0
    try:
        yield
    finally:
        dag.params = params
        for t in dag.tasks:
            t.retries = saved[t.task_id]
            t.params = task_params[t.task_id]


def _states(run: Any) -> dict[tuple[str, int], str]:
    return {(ti.task_id, ti.map_index): str(ti.state) for ti in run.get_task_instances()}


def _use(monkeypatch: pytest.MonkeyPatch, settings: Settings, smtp: SmtpSink | None = None) -> None:
    for key, value in cli_env(settings).items():
        monkeypatch.setenv(key, value)
    if smtp is not None:
        monkeypatch.setenv("WEATHERINSIGHT_SMTP_HOST", smtp.host)
        monkeypatch.setenv("WEATHERINSIGHT_SMTP_PORT", str(smtp.port))


def test_quarterly_pipeline_end_to_end(
    airflow_db: dict[str, str],
    dagbag: Any,
    mirror_url: str,
    mirror_settings_for: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = mirror_settings_for(mirror_url)
    _use(monkeypatch, s)
    q = Quarter.last_complete()
    dag = dagbag.dags["weatherinsight_quarterly_pipeline"]
    with _no_retries(dag):
        # The run that fires at the end of quarter q: its data interval is q.
        run = dag.test(logical_date=pendulum.instance(q.end))
    assert run.state == "success", _states(run)
    # resolve_quarter + 3 per product + 2 daily KL (ingest, process) + pipeline_complete
    assert set(_states(run).values()) == {"success"} and len(_states(run)) == 3 * len(PRODUCTS) + 2 + 2
    for p in PRODUCTS:
        assert published_rows(s, p, q) == (f"{q}_v1", staged_stations(s, p, q))
    with db.get_engine(s.database_url).connect() as conn:
        dv = tables.dataset_versions
        names = {
            (r.kind, r.version_name)
            for r in conn.execute(select(dv.c.kind, dv.c.version_name).where(dv.c.product == "wind"))
        }
    assert {("raw", f"{q}_raw_v1"), ("staged", f"{q}_staged_v1"), ("curated", f"{q}_v1")} <= names
    # pipeline_complete announced the quarter on the asset the quality DAG is scheduled on.
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        events = session.execute(
            select(AssetModel.uri, AssetEvent.source_task_id, AssetEvent.extra)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetEvent.source_run_id == run.run_id)
        ).all()
    assert [tuple(e) for e in events] == [
        ("weatherinsight://curated/quarterly", "pipeline_complete", {"quarter": str(q)})
    ]


def test_backfill_with_a_corrupted_product_fails_and_names_it(
    airflow_db: dict[str, str],
    dagbag: Any,
    fresh_mirror: FreshMirror,
    mirror_settings_for: Callable[..., Settings],
    smtp_server: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert corrupt_product(fresh_mirror.root, "wind") > 0
    s = mirror_settings_for(fresh_mirror.url)
    _use(monkeypatch, s, smtp_server)
    last = Quarter.last_complete()
    quarters = [last] if last.quarter == 1 else [last.previous(), last]
    conf = {
        "start_year": last.year,
        "end_year": last.year,
        "quarters": [q.quarter for q in quarters],
        "products": ["wind", "pressure"],
        "force_reprocess": False,
    }
    dag = dagbag.dags["weatherinsight_backfill"]
    with _no_retries(dag):
        run = dag.test(logical_date=pendulum.datetime(2030, 1, 1, tz="UTC"), run_conf=conf)
    assert run.state == "failed"
    states = _states(run)
    assert states[("validate_params", -1)] == "success"
    # One ingest per product (wind, pressure): wind's fails. Pairs in plan order (quarter, then wind,
    # pressure): every wind pair skips, every pressure pair runs.
    assert (states[("ingest_product", 0)], states[("ingest_product", 1)]) == ("failed", "success")
    for i in range(len(quarters)):
        assert states[("process_quarter_product", 2 * i)] == "skipped"
        assert states[("aggregate_quarter_product", 2 * i)] == "skipped"
        assert states[("aggregate_quarter_product", 2 * i + 1)] == "success"
    assert states[("backfill_summary", -1)] == "failed"
    for q in quarters:
        assert published_rows(s, "pressure", q) == (f"{q}_v1", staged_stations(s, "pressure", q))
        assert published_rows(s, "wind", q) == (None, 0)
    (msg,) = [m for m in smtp_server.messages if "backfill_summary" in str(m["Subject"])]
    body = smtp_server.bodies()[smtp_server.messages.index(msg)]
    assert f"backfill failed for {len(quarters)} of {2 * len(quarters)} quarter × product" in body
    for q in quarters:
        assert f"{q} wind (ingestion)" in body
        assert f"{q} pressure" not in body


@pytest.mark.postgres
def test_quality_dag_warning_passes_and_fatal_fails_with_an_alert(
    airflow_db: dict[str, str],
    dagbag: Any,
    settings: Settings,
    pg_url: str,
    smtp_server: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # WEATHERINSIGHT_DATABASE_URL stays on the (empty) SQLite file: the checks must read PostgreSQL through
    # the Airflow connection defined by environment variable, as a deployment defines it.
    _use(monkeypatch, settings, smtp_server)
    monkeypatch.setenv(
        "AIRFLOW_CONN_WEATHERINSIGHT_POSTGRES", pg_url.replace("postgresql+psycopg://", "postgresql://")
    )
    pg = settings.model_copy(update={"database_url": pg_url})
    plant(pg, "2023Q3")
    plant(pg, "2024Q1")  # 2023Q4 is missing: a continuity warning only
    plant(pg, "2024Q2", nulls={"rh_mean": 30})  # fatal: moisture rh_mean 27.273 % NULL
    dag = dagbag.dags["weatherinsight_data_quality"]
    with _no_retries(dag):
        ok = dag.test(logical_date=pendulum.datetime(2031, 1, 1, 6, tz="UTC"), run_conf={"quarter": "2024Q1"})
        bad = dag.test(
            logical_date=pendulum.datetime(2031, 4, 1, 6, tz="UTC"), run_conf={"quarter": "2024Q2"}
        )
    assert ok.state == "success"
    assert bad.state == "failed"
    with db.get_engine(pg.database_url).connect() as conn:
        t = tables.quality_check_results
        failed = conn.execute(
            select(t.c.year, t.c.quarter, t.c.check_name, t.c.product, t.c.severity, t.c.measured_value)
            .where(t.c.passed.is_(False))
            .order_by(t.c.year, t.c.quarter, t.c.product, t.c.check_name)
        ).all()
    assert [tuple(r) for r in failed] == [
        *[(2024, 1, "continuity", p, "warning", 1.0) for p in sorted(PRODUCTS)],
        *[(2024, 2, "continuity", p, "warning", 1.0) for p in sorted(PRODUCTS) if p < "moisture"],
        (2024, 2, "continuity", "moisture", "warning", 1.0),
        (2024, 2, "null_percentage", "moisture", "fatal", 27.273),
        *[(2024, 2, "continuity", p, "warning", 1.0) for p in sorted(PRODUCTS) if p > "moisture"],
    ]
    (msg,) = smtp_server.messages  # one alert: the quality task's, not a second one from the callback
    assert msg["Subject"] == "[WeatherInsight] FATAL data-quality findings for 2024Q2"
    assert (
        "null_percentage 2024Q2 moisture quarterly_moisture_features.rh_mean: 27.273%"
        in smtp_server.bodies()[0]
    )


def test_ensure_pools_creates_the_configured_pools(airflow_db: dict[str, str], settings: Settings) -> None:
    import os
    import sys
    from pathlib import Path

    from airflow.models.pool import Pool

    from weatherinsight.pipeline import airflow_tasks

    airflow_bin = str(Path(sys.executable).parent / "airflow")
    airflow_tasks.ensure_pools(settings, airflow_bin=airflow_bin, env={**os.environ, **airflow_db})
    # Read back from the session's metadata database (this process is configured for it by ``airflow_env``).
    assert {name: Pool.get_pool(name).slots for name in ("spark_jobs", "api_calls")} == {
        "spark_jobs": 3,
        "api_calls": 5,
    }


def test_backfill_ingests_and_stages_the_daily_kl_values_before_aggregating(
    airflow_db: dict[str, str],
    dagbag: Any,
    mirror_url: str,
    mirror_settings_for: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue #17 in the backfill DAG: a backfilled air_temperature quarter reads the daily KL values (the
    ``ingest_daily_inputs`` → ``process_daily_inputs`` tasks stage them first) and names their version."""
    from weatherinsight.warehouse import lineage

    s = mirror_settings_for(mirror_url)
    _use(monkeypatch, s)
    q = Quarter.last_complete()
    conf = {
        "start_year": q.year,
        "end_year": q.year,
        "quarters": [q.quarter],
        "products": ["air_temperature"],
        "force_reprocess": False,
        "periods": [],
    }
    dag = dagbag.dags["weatherinsight_backfill"]
    with _no_retries(dag):
        run = dag.test(logical_date=pendulum.datetime(2030, 1, 2, tz="UTC"), run_conf=conf)
    assert run.state == "success", _states(run)
    states = _states(run)
    assert states[("ingest_daily_inputs", -1)] == states[("process_daily_inputs", -1)] == "success"
    ti = next(t for t in run.get_task_instances() if t.task_id == "process_daily_inputs")
    assert ti.xcom_pull(task_ids="process_daily_inputs") == {"daily_climate": None}
    assert published_rows(s, "air_temperature", q) == (f"{q}_v1", staged_stations(s, "air_temperature", q))
    with db.get_engine(s.database_url).connect() as conn:
        rows = lineage.read_published(conn, "air_temperature", q)
        version = lineage.get_version_by_name(conn, "curated", "air_temperature", f"{q}_v1")
        staged_kl = lineage.find_available(conn, "staged", "daily_climate", q)
    assert staged_kl is not None and version is not None
    assert lineage.qualified_parent("daily_climate", staged_kl.version_name) in version.parent_versions
    sources = sorted(str(r["tx_tn_source"]) for r in rows)
    assert sources == ["daily_kl"] * len(rows), sources
