"""Issue #19 in the backfill DAG: a run ingests each product ONCE for every quarter of its plan (the mapped
``ingest_product``: one listing crawl and one GET per file, as the CLI backfill of
``tests/pipeline/test_backfill_ingest_once.py``), a re-run of that ingest (a task retry) downloads nothing,
and a failed product ingest fails every pair of that product at ingest while the other product's pairs
succeed.

Runs the real DAG with ``dag.test()`` against the real mirror server and counts the requests it served.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pendulum
import pytest
from sqlalchemy import func, select

from tests.dags.test_dag_runs import _no_retries, _states, _use
from tests.fixtures.smtp import SmtpSink
from tests.pipeline.conftest import published_rows, staged_stations
from tests.pipeline.test_backfill_ingest_once import _gets
from weatherinsight.dwd.products import get_product
from weatherinsight.mirror.server import MirrorHTTPServer
from weatherinsight.pipeline import airflow_backfill_tasks
from weatherinsight.pipeline.backfill import BackfillParams
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, tables

# One worker runs every Airflow test: they share the session AIRFLOW_HOME (one `db migrate`, one DagBag).
pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.xdist_group("airflow")]

BACKFILL = "weatherinsight_backfill"
#: Neither reads the daily KL values: the run's only DWD requests are these two products'.
PRODUCTS = ("wind", "pressure")


def _plan(settings: Settings) -> tuple[dict[str, Any], list[Quarter]]:
    """The conf of a backfill of the last two complete quarters (three when they straddle a new year:
    the conf names years and quarter numbers) and its planned quarters."""
    last = Quarter.last_complete()
    before = last.previous()
    conf = {
        "start_year": before.year,
        "end_year": last.year,
        "quarters": sorted({before.quarter, last.quarter}),
        "products": list(PRODUCTS),
        "periods": [],
    }
    quarters = BackfillParams.from_params(conf, settings).plan()
    assert len(quarters) >= 2 and quarters[-2:] == [before, last]
    return conf, quarters


def _dirs() -> set[str]:
    return {f"{get_product(p).resolution}/{p}" for p in PRODUCTS}


def _raw_versions(settings: Settings, product: str) -> int:
    with db.get_engine(settings.database_url).connect() as conn:
        dv = tables.dataset_versions
        return int(
            conn.execute(select(func.count()).where(dv.c.kind == "raw", dv.c.product == product)).scalar_one()
        )


def test_a_backfill_run_ingests_each_product_once_for_every_quarter(
    airflow_db: dict[str, str],
    dagbag: Any,
    mirror_server: MirrorHTTPServer,
    mirror_url: str,
    mirror_settings_for: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = mirror_settings_for(mirror_url)
    _use(monkeypatch, s)
    conf, quarters = _plan(s)
    pairs = len(quarters) * len(PRODUCTS)
    dag = dagbag.dags[BACKFILL]
    with _no_retries(dag):
        run = dag.test(logical_date=pendulum.datetime(2030, 5, 1, tz="UTC"), run_conf=conf)
    assert run.state == "success", _states(run)
    states = _states(run)
    # One ingest instance per product (map index: its place in the products), one process → aggregate per pair.
    assert {k: v for k, v in states.items() if k[0] == "ingest_product"} == {
        ("ingest_product", 0): "success",
        ("ingest_product", 1): "success",
    }
    for step in ("process_quarter_product", "aggregate_quarter_product"):
        assert sorted(i for (t, i), v in states.items() if t == step and v == "success") == list(range(pairs))
    ingests = {ti.map_index: ti for ti in run.get_task_instances() if ti.task_id == "ingest_product"}
    assert {i: ti.rendered_map_index for i, ti in ingests.items()} == {0: "wind", 1: "pressure"}
    listed: dict[str, int] = {}
    for i, product in enumerate(PRODUCTS):
        out = ingests[i].xcom_pull(task_ids="ingest_product", map_indexes=i)
        assert (out["product"], out["quarters"], out["status"]) == (
            product,
            [str(q) for q in quarters],
            "succeeded",
        )
        assert out["detail"]["files_failed"] == 0 and out["files"] == out["detail"]["files_listed"] > 0
        listed[product] = out["detail"]["files_listed"]

    # One listing crawl per product period and one GET per file for all the quarters.
    gets = _gets(mirror_server)
    assert {p.split("/")[0] + "/" + p.split("/")[1] for p in gets} == _dirs()
    for d in _dirs():
        listings = {p: n for p, n in gets.items() if p.startswith(d + "/") and p.endswith("/")}
        files = [n for p, n in gets.items() if p.startswith(d + "/") and not p.endswith("/")]
        assert listings == {f"{d}/historical/": 1, f"{d}/recent/": 1}, d
        # every recent zip and station list at least: one GET each, never one per quarter
        assert len(files) >= 2 + 5 and set(files) == {1}, (d, files)
    for q in quarters:
        for p in PRODUCTS:
            assert published_rows(s, p, q) == (f"{q}_v1", staged_stations(s, p, q)), (q, p)

    # A retry of the ingest task re-runs its body: every file is found unchanged, nothing is downloaded and
    # no raw version is added.
    raw_before = _raw_versions(s, "wind")
    mirror_server.clear_log()
    again = airflow_backfill_tasks.backfill_ingest_product_task("wind", conf)
    assert (again["status"], again["files"]) == ("unchanged", 0)
    detail = again["detail"]
    assert (detail["files_failed"], detail["bytes_downloaded"]) == (0, 0)
    assert detail["files_unchanged"] == detail["files_listed"] == listed["wind"]
    assert _raw_versions(s, "wind") == raw_before
    wind = f"{get_product('wind').resolution}/wind"
    listings = {p: n for p, n in _gets(mirror_server).items() if p.endswith("/")}
    assert listings == {f"{wind}/historical/": 1, f"{wind}/recent/": 1}


def test_a_failed_product_ingest_fails_its_pairs_at_ingest_and_the_other_product_succeeds(
    airflow_db: dict[str, str],
    dagbag: Any,
    mirror_server: MirrorHTTPServer,
    mirror_url: str,
    mirror_settings_for: Callable[..., Settings],
    smtp_server: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = mirror_settings_for(mirror_url)
    _use(monkeypatch, s, smtp_server)
    conf, quarters = _plan(s)
    n = len(quarters)
    wind = f"{get_product('wind').resolution}/wind"
    mirror_server.faults.add("503", f"*/{wind}/recent/")  # wind's listing fails on every attempt
    dag = dagbag.dags[BACKFILL]
    with _no_retries(dag):
        run = dag.test(logical_date=pendulum.datetime(2030, 5, 2, tz="UTC"), run_conf=conf)
    assert run.state == "failed"
    states = _states(run)
    assert (states[("ingest_product", 0)], states[("ingest_product", 1)]) == ("failed", "success")
    # Pairs in plan order (quarter, then wind, pressure): every wind pair skips, every pressure pair runs.
    for step in ("process_quarter_product", "aggregate_quarter_product"):
        assert [states[(step, 2 * i)] for i in range(n)] == ["skipped"] * n, step
        assert [states[(step, 2 * i + 1)] for i in range(n)] == ["success"] * n, step
    assert states[("backfill_summary", -1)] == "failed"
    assert states[("announce_quarters", -1)] == "success"
    for q in quarters:
        assert published_rows(s, "pressure", q) == (f"{q}_v1", staged_stations(s, "pressure", q))
        assert published_rows(s, "wind", q) == (None, 0)
    # One ingest run for all the quarters: wind's historical listing was crawled once.
    assert _gets(mirror_server)[f"{wind}/historical/"] == 1

    # The summary reports every wind pair failed at ingest, naming the product's ingest task, and nothing else.
    (msg,) = [m for m in smtp_server.messages if "backfill_summary" in str(m["Subject"])]
    body = smtp_server.bodies()[smtp_server.messages.index(msg)]
    assert f"backfill failed for {n} of {2 * n} quarter × product" in body
    for q in quarters:
        assert f"{q} wind (ingestion): task ingest_product [wind] failed" in body
        assert f"{q} pressure" not in body
