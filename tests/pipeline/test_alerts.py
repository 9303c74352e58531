"""Alert e-mails over a real SMTP server on loopback, and the quality DAG's connection lookup.

The Airflow context is duck-typed by the package (it never imports Airflow); the DAG runs in
``tests/dags/test_dag_runs.py`` exercise the same callbacks inside real Airflow task runs.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.fixtures.smtp import SmtpSink
from weatherinsight import pipeline
from weatherinsight.errors import ConfigError
from weatherinsight.pipeline import airflow_tasks
from weatherinsight.settings import Settings


def _with_smtp(settings: Settings, smtp: SmtpSink) -> Settings:
    return settings.model_copy(update={"smtp_host": smtp.host, "smtp_port": smtp.port})


def test_send_alert_delivers_to_the_configured_recipients(settings: Settings, smtp_server: SmtpSink) -> None:
    assert pipeline.send_alert(_with_smtp(settings, smtp_server), "subject 1", "body line\nsecond line")
    (msg,) = smtp_server.messages
    assert (msg["Subject"], msg["From"], msg["To"]) == (
        "subject 1",
        "weatherinsight@weatherinsight.example",
        "data-team@weatherinsight.example",
    )
    assert smtp_server.bodies() == ["body line\nsecond line\n"]


def test_send_alert_without_smtp_or_with_a_dead_server_reports_false(settings: Settings) -> None:
    assert settings.smtp_host is None
    assert pipeline.send_alert(settings, "s", "b") is False
    dead = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 9})
    assert (
        pipeline.send_alert(dead, "s", "b") is False
    )  # logged, never raised: the alert must not hide a failure


def test_failure_callback_mails_the_task_and_error(
    settings: Settings, smtp_server: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEATHERINSIGHT_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("WEATHERINSIGHT_SMTP_PORT", str(smtp_server.port))
    ti = SimpleNamespace(
        dag_id="weatherinsight_quarterly_pipeline", task_id="ingest_wind", try_number=2, map_index=-1
    )
    airflow_tasks.notify_task_failure(
        {"ti": ti, "run_id": "scheduled__2024-04-01", "exception": RuntimeError("boom")}
    )
    # A quality failure whose alert already went out is not mailed twice.
    airflow_tasks.notify_task_failure(
        {"ti": ti, "run_id": "r", "exception": pipeline.QualityCheckFailed("fatal", alert_sent=True)}
    )
    (msg,) = smtp_server.messages
    # a long Subject is folded on the wire; unfolding leaves the folding space in front
    assert (
        str(msg["Subject"]).strip()
        == "[WeatherInsight] task failed: weatherinsight_quarterly_pipeline.ingest_wind"
    )
    body = smtp_server.bodies()[0]
    assert "failed (run scheduled__2024-04-01, try 2)" in body and "RuntimeError('boom')" in body


def test_connection_url_from_the_context_accessor() -> None:
    class Accessor:
        weatherinsight_postgres = SimpleNamespace(
            conn_type="postgres", login="wi", password="s3cret", host="db", port=5433, schema="weather"
        )

    assert airflow_tasks.connection_url(Accessor()) == "postgresql+psycopg://wi:s3cret@db:5433/weather"
    assert airflow_tasks.connection_url(None) is None
    assert airflow_tasks.connection_url(object()) is None  # not defined → settings.database_url is used
    bad = SimpleNamespace(weatherinsight_postgres=SimpleNamespace(conn_type="mysql"))
    with pytest.raises(ConfigError, match="conn_type must be postgres"):
        airflow_tasks.connection_url(bad)
