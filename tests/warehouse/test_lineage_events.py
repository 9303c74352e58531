"""OpenLineage events of dataset versions (weatherinsight.warehouse.lineage_events), file transport.

The end-to-end test runs ingest → stage → aggregate of one product on the DWD mirror and compares the events
with the ``dataset_versions`` rows; the others drive ``warehouse.lineage`` directly (FAIL, rollback, lineage
off, a dead HTTP endpoint).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine
from structlog.testing import capture_logs

from tests.fixtures.core import free_port, make_settings
from weatherinsight import pipeline
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage
from weatherinsight.warehouse.lineage_events import PRODUCER, dataset_namespace

PRODUCT = "wind"
Q = Quarter(2024, 2)
ON = {"enabled": True, "transport": "file"}


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _name(v: lineage.DatasetVersion) -> str:
    return f"{v.kind}/{v.product}/{v.version_name}"


@pytest.mark.slow
def test_one_product_run_emits_start_and_complete_per_version_chained_raw_staged_curated(
    mirror_url: str, mirror_settings_for: Callable[..., Settings], db_url: str, mirror_today: date
) -> None:
    settings = mirror_settings_for(mirror_url, db_url, lineage=ON)
    quarter = Quarter.last_complete(mirror_today)
    assert pipeline.run_quarter(settings, quarter, products=[PRODUCT]).ok
    with db.get_engine(settings.database_url).connect() as conn:
        versions = lineage.list_versions(conn, product=PRODUCT)
        curated = lineage.find_available(conn, "curated", PRODUCT, quarter)
    events = _events(settings.lineage_file)
    namespace = dataset_namespace(settings.database_url)

    # One START and one COMPLETE per dataset_versions row, START first; nothing else.
    assert {v.status for v in versions} == {"AVAILABLE"}
    assert {v.kind for v in versions} == {"raw", "staged", "curated"}
    assert len(events) == 2 * len(versions)
    by_output: dict[str, list[dict[str, Any]]] = {}
    for ev in events:
        assert len(ev["outputs"]) == 1 and ev["outputs"][0]["namespace"] == namespace
        assert ev["producer"] == PRODUCER
        by_output.setdefault(ev["outputs"][0]["name"], []).append(ev)
    assert set(by_output) == {_name(v) for v in versions}
    jobs = {"raw": "ingest", "staged": "stage", "curated": "aggregate"}
    for v in versions:
        pair = by_output[_name(v)]
        assert [e["eventType"] for e in pair] == ["START", "COMPLETE"]
        assert pair[0]["run"]["runId"] == pair[1]["run"]["runId"]
        assert {e["job"]["name"] for e in pair} == {f"{jobs[v.kind]}.{PRODUCT}"}
        out = pair[1]["outputs"][0]
        assert out["outputFacets"]["outputStatistics"]["rowCount"] == v.row_count
        assert out["facets"]["datasetVersion"]["datasetVersion"] == v.version_name
        facet = out["facets"]["weatherinsight_version"]
        assert (facet["quarter"], facet["inputFingerprint"], facet["parentVersions"]) == (
            v.quarter_label,
            v.input_fingerprint,
            list(v.parent_versions),
        )
        assert ("schema" in out["facets"]) is (v.kind != "raw")
        parent_kind = {"staged": "raw", "curated": "staged"}.get(v.kind)
        inputs = [(i["namespace"], i["name"]) for i in pair[1]["inputs"]]
        if parent_kind is None:
            host = urlsplit(mirror_url).netloc
            assert inputs == [
                (f"http://{host}", "/climate_environment/CDC/observations_germany/climate/hourly/wind/")
            ]
        else:
            assert inputs == [(namespace, f"{parent_kind}/{PRODUCT}/{p}") for p in v.parent_versions]

    # The quarter's chain: curated ← staged ← raw, each an output of an earlier event.
    assert curated is not None
    names = [e["outputs"][0]["name"] for e in events]
    (staged_input,) = by_output[_name(curated)][1]["inputs"]
    assert staged_input["name"].startswith(f"staged/{PRODUCT}/{quarter}_staged_v")
    (raw_input,) = by_output[staged_input["name"]][1]["inputs"]
    assert raw_input["name"] == f"raw/{PRODUCT}/{quarter}_raw_v1"
    assert names.index(raw_input["name"]) < names.index(staged_input["name"]) < names.index(_name(curated))
    curated_fields = {
        f["name"] for f in by_output[_name(curated)][1]["outputs"][0]["facets"]["schema"]["fields"]
    }
    assert {"station_id", "year", "quarter", "dataset_version"} <= curated_fields

    # Unchanged inputs: a second run publishes nothing and emits nothing.
    assert pipeline.run_quarter(settings, quarter, products=[PRODUCT]).ok
    assert len(_events(settings.lineage_file)) == len(events)


def test_failed_version_emits_fail_with_the_error(engine: Engine, data_dir: Path) -> None:
    settings = make_settings(data_dir, database_url=str(engine.url.render_as_string(False)), lineage=ON)
    with engine.begin() as conn:
        raw = lineage.begin_version(conn, settings, "raw", PRODUCT, Q, fingerprint="r")
        lineage.publish_version(conn, raw, row_count=3)
        staged = lineage.begin_version(
            conn, settings, "staged", PRODUCT, Q, fingerprint="s", parents=[raw.version_name]
        )
        lineage.fail_version(conn, staged, "ValueError: bad produkt line 7")
    events = _events(settings.lineage_file)
    assert [(e["eventType"], e["outputs"][0]["name"]) for e in events] == [
        ("START", "raw/wind/2024Q2_raw_v1"),
        ("COMPLETE", "raw/wind/2024Q2_raw_v1"),
        ("START", "staged/wind/2024Q2_staged_v1"),
        ("FAIL", "staged/wind/2024Q2_staged_v1"),
    ]
    assert events[3]["run"]["facets"]["errorMessage"]["message"] == "ValueError: bad produkt line 7"
    assert events[3]["inputs"][0]["name"] == "raw/wind/2024Q2_raw_v1"
    assert "outputStatistics" not in events[3]["outputs"][0]["outputFacets"]


def test_inside_an_airflow_task_events_carry_the_task_run_as_parent_and_the_dag_run_as_root(
    engine: Engine, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(data_dir, database_url=str(engine.url.render_as_string(False)), lineage=ON)
    for key in ("DAG_ID", "DAG_RUN_ID", "TASK_ID", "TRY_NUMBER"):  # dag.test() in this process may leave them
        monkeypatch.delenv(f"AIRFLOW_CTX_{key}", raising=False)
    with engine.begin() as conn:  # the CLI: no Airflow, no parent
        lineage.publish_version(
            conn, lineage.begin_version(conn, settings, "raw", PRODUCT, Q, fingerprint="a"), row_count=3
        )
    # What Airflow's task runner exports for the running task.
    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "weatherinsight_quarterly_pipeline")
    monkeypatch.setenv("AIRFLOW_CTX_DAG_RUN_ID", "manual__2024-07-01T00:00:00+00:00")
    monkeypatch.setenv("AIRFLOW_CTX_TASK_ID", "ingest_wind")
    monkeypatch.setenv("AIRFLOW_CTX_TRY_NUMBER", "2")
    with engine.begin() as conn:
        lineage.publish_version(
            conn, lineage.begin_version(conn, settings, "raw", PRODUCT, Q, fingerprint="b"), row_count=3
        )
    events = _events(settings.lineage_file)
    assert [("parent" in e["run"]["facets"]) for e in events] == [False, False, True, True]
    dag_run = "airflow:weatherinsight_quarterly_pipeline/manual__2024-07-01T00:00:00+00:00"
    parent = {k: v for k, v in events[2]["run"]["facets"]["parent"].items() if not k.startswith("_")}
    assert parent == {
        "run": {"runId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{dag_run}/ingest_wind/2")), "facets": {}},
        "job": {
            "namespace": "weatherinsight",
            "name": "weatherinsight_quarterly_pipeline.ingest_wind",
            "facets": {},
        },
        "root": {
            "run": {"runId": str(uuid.uuid5(uuid.NAMESPACE_URL, dag_run)), "facets": {}},
            "job": {"namespace": "weatherinsight", "name": "weatherinsight_quarterly_pipeline", "facets": {}},
        },
    }
    assert events[3]["run"]["facets"]["parent"] == events[2]["run"]["facets"]["parent"]  # START and COMPLETE


def test_a_parent_of_another_product_is_an_input_of_that_product(engine: Engine, data_dir: Path) -> None:
    """A curated air_temperature version also reads the staged daily KL version (issue #17)."""
    settings = make_settings(data_dir, database_url=str(engine.url.render_as_string(False)), lineage=ON)
    parents = ["2024Q2_staged_v1", lineage.qualified_parent("daily_climate", "2024Q2_staged_v3")]
    with engine.begin() as conn:
        lineage.begin_version(
            conn, settings, "curated", "air_temperature", Q, fingerprint="c", parents=parents
        )
    (start,) = _events(settings.lineage_file)
    assert [(i["name"], i["facets"]["datasetVersion"]["datasetVersion"]) for i in start["inputs"]] == [
        ("staged/air_temperature/2024Q2_staged_v1", "2024Q2_staged_v1"),
        ("staged/daily_climate/2024Q2_staged_v3", "2024Q2_staged_v3"),
    ]


def test_rolled_back_versions_and_disabled_lineage_emit_nothing(engine: Engine, data_dir: Path) -> None:
    url = engine.url.render_as_string(False)
    settings = make_settings(data_dir, database_url=url, lineage=ON)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        v = lineage.begin_version(conn, settings, "curated", PRODUCT, Q, fingerprint="c")
        lineage.publish_version(conn, v, row_count=1)
        raise RuntimeError("the load failed after publishing")
    assert not settings.lineage_file.exists()
    off = make_settings(data_dir, database_url=url)
    with engine.begin() as conn:
        v = lineage.begin_version(conn, off, "curated", PRODUCT, Q, fingerprint="c")
        lineage.publish_version(conn, v, row_count=1)
    assert not settings.lineage_file.exists()
    with engine.begin() as conn:
        v = lineage.begin_version(conn, settings, "curated", PRODUCT, Q, fingerprint="d")
        lineage.publish_version(conn, v, row_count=2)
    assert [e["eventType"] for e in _events(settings.lineage_file)] == ["START", "COMPLETE"]


def test_unreachable_http_endpoint_logs_a_warning_and_publishes(engine: Engine, data_dir: Path) -> None:
    port = free_port()  # nobody listens on it
    settings = make_settings(
        data_dir,
        database_url=engine.url.render_as_string(False),
        lineage={
            "enabled": True,
            "transport": "http",
            "url": f"http://127.0.0.1:{port}",
            "timeout_seconds": 1,
        },
    )
    with capture_logs() as logs, engine.begin() as conn:
        v = lineage.begin_version(conn, settings, "curated", PRODUCT, Q, fingerprint="c")
        lineage.publish_version(conn, v, row_count=1)
    with engine.connect() as conn:
        published = lineage.find_available(conn, "curated", PRODUCT, Q)
    assert published is not None and published.row_count == 1
    warnings = [e for e in logs if e["event"] == "lineage_event_not_sent"]
    assert [(w["log_level"], w["job"], w["state"], w["transport"]) for w in warnings] == [
        ("warning", "aggregate.wind", "START", "http"),
        ("warning", "aggregate.wind", "COMPLETE", "http"),
    ]
    assert all("Connection refused" in w["error"] for w in warnings)


def test_console_transport_logs_each_event_as_json(
    engine: Engine, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        data_dir,
        database_url=engine.url.render_as_string(False),
        lineage={"enabled": True, "transport": "console"},
    )
    with caplog.at_level("INFO", logger="openlineage.client.transport.console"), engine.begin() as conn:
        v = lineage.begin_version(conn, settings, "raw", PRODUCT, Q, fingerprint="r")
        lineage.publish_version(conn, v, row_count=7)
    logged = [
        json.loads(r.getMessage()) for r in caplog.records if r.name == "openlineage.client.transport.console"
    ]
    assert [(e["eventType"], e["job"]["name"], e["outputs"][0]["name"]) for e in logged] == [
        ("START", "ingest.wind", "raw/wind/2024Q2_raw_v1"),
        ("COMPLETE", "ingest.wind", "raw/wind/2024Q2_raw_v1"),
    ]
    assert logged[1]["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 7
    assert not settings.lineage_file.exists()
