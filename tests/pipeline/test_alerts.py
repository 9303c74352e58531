"""Alerts over a real SMTP server and a real webhook receiver on loopback, and the quality DAG's connection lookup.

The Airflow context is duck-typed by the package (it never imports Airflow); the DAG runs in
``tests/dags/test_dag_runs.py`` exercise the same callbacks inside real Airflow task runs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.fixtures.core import make_settings
from tests.fixtures.smtp import SmtpSink
from tests.quality.planting import plant
from weatherinsight import pipeline
from weatherinsight.errors import ConfigError
from weatherinsight.pipeline import airflow_tasks
from weatherinsight.quarters import Quarter
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


# --------------------------------------------------------------------------------------------- webhook


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1 (its own thread) keeping every POST; answers ``status``."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(Received(self.path, dict(self.headers.items()), json.loads(raw)))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:  # quiet test server
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/B000"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def payloads(self) -> list[Any]:
        return [r.body for r in self.requests]


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def _payload(subject: str, body: str) -> dict[str, Any]:
    return {
        "text": f"{subject}\n\n{body}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": subject}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"```{body}```"}},
        ],
    }


#: What 10 planted stations of one quarter violate: rows (min 100) and stations (min 50) of the packaged YAML.
FATAL_LINES = [
    "[FATAL] row_count 2024Q1 wind quarterly_wind_features: 10 rows in 2024Q1_v1 (minimum 100)",
    "[FATAL] station_count 2024Q1 wind quarterly_wind_features.station_id: 10 distinct stations in 2024Q1_v1"
    " (minimum 50)",
]

TI = SimpleNamespace(
    dag_id="weatherinsight_quarterly_pipeline",
    task_id="ingest_wind",
    try_number=2,
    map_index=-1,
    log_url="http://airflow:8080/log?x=1",
)


def test_failure_and_retry_callbacks_post_the_exact_payloads(
    webhook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    # The environment override of the docs; no SMTP host, so the webhook is the only channel.
    monkeypatch.setenv("WEATHERINSIGHT_DATA_DIR", str(data_dir))
    monkeypatch.setenv("WEATHERINSIGHT_ALERTS__WEBHOOK_URL", webhook.url)
    monkeypatch.setenv("WEATHERINSIGHT_ALERTS__WEBHOOK_HEADERS", '["Authorization: Bearer t0ken"]')
    context = {"ti": TI, "run_id": "scheduled__2024-04-01", "exception": RuntimeError("boom")}
    airflow_tasks.notify_task_failure(context)
    airflow_tasks.notify_task_retry(context)
    failure_subject = "[WeatherInsight] task failed: weatherinsight_quarterly_pipeline.ingest_wind"
    failure_body = (
        "Task weatherinsight_quarterly_pipeline.ingest_wind failed (run scheduled__2024-04-01, try 2).\n"
        "\n"
        "Error: RuntimeError('boom')\n"
        "Log: http://airflow:8080/log?x=1\n"
        "\n"
        "Triage: see the DAG's documentation (doc_md) in the Airflow UI; re-running a task is safe "
        "(every step is idempotent; unchanged inputs are no-ops)."
    )
    retry_subject = "[WeatherInsight] task retrying: weatherinsight_quarterly_pipeline.ingest_wind"
    retry_body = "Try 2 of ingest_wind failed: RuntimeError('boom'); Airflow retries it."
    assert webhook.payloads == [_payload(failure_subject, failure_body), _payload(retry_subject, retry_body)]
    assert [r.path for r in webhook.requests] == ["/hooks/T000/B000"] * 2
    assert {r.headers["Authorization"] for r in webhook.requests} == {"Bearer t0ken"}
    assert {r.headers["Content-Type"] for r in webhook.requests} == {"application/json"}


def test_fatal_quality_finding_posts_every_finding(webhook: WebhookReceiver, settings: Settings) -> None:
    s = settings.model_copy(
        update={"alerts": settings.alerts.model_copy(update={"webhook_url": webhook.url})}
    )
    plant(s, "2024Q1", products=["wind"], stations=10)
    report = pipeline.quality_check(s, Quarter(2024, 1), products=["wind"])
    assert report.alert_sent
    (payload,) = webhook.payloads
    subject = "[WeatherInsight] FATAL data-quality findings for 2024Q1"
    assert payload == _payload(subject, payload["blocks"][1]["text"]["text"].strip("`"))
    lines = payload["blocks"][1]["text"]["text"].strip("`").splitlines()
    assert lines[0] == f"Fatal data-quality findings for 2024Q1 (run {report.run_id}):"
    assert (
        lines[-1]
        == f"Every result of this run is stored in quality_check_results (run_id = '{report.run_id}')."
    )
    fatal = [line.strip() for line in lines if line.strip().startswith("[FATAL]")]
    assert fatal == FATAL_LINES


def test_a_failing_webhook_warns_and_never_raises(
    webhook: WebhookReceiver, settings: Settings, smtp_server: SmtpSink
) -> None:
    webhook.status = 500
    hooked = settings.model_copy(
        update={"alerts": settings.alerts.model_copy(update={"webhook_url": webhook.url})}
    )
    with capture_logs() as logs:
        assert pipeline.send_alert(hooked, "s", "b") is False  # the only channel failed
        # E-mail still delivers when the webhook fails: one channel's failure does not mask the alert.
        assert pipeline.send_alert(_with_smtp(hooked, smtp_server), "s2", "b2") is True
    assert len(smtp_server.messages) == 1 and len(webhook.requests) == 2
    warnings = [(e["event"], e["error"], e["host"]) for e in logs if e["log_level"] == "warning"]
    assert warnings == [("alert_webhook_failed", "HTTP 500", "127.0.0.1")] * 2
    dead = hooked.model_copy(
        update={"alerts": hooked.alerts.model_copy(update={"webhook_url": "http://127.0.0.1:9/hook"})}
    )
    assert pipeline.send_alert(dead, "s", "b") is False


def test_webhook_settings_are_validated(data_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "alerts.yaml"
    config.write_text("alerts:\n  webhook_url: ftp://hooks.example/x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"alerts\.webhook_url: .*malformed URL .*\(in {config}\)"):
        make_settings(data_dir, config_file=config)
    with pytest.raises(ConfigError, match="not of the form 'Name: value'"):
        make_settings(data_dir, alerts={"webhook_url": "http://h/x", "webhook_headers": ["no colon"]})
