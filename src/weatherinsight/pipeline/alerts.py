"""Alerts: e-mail over plain ``smtplib``, a Slack-compatible webhook, and the content of every alert.

``send_alert`` is the one entry point: it sends the same subject and body through every configured channel
(e-mail to ``email.recipients`` through ``WEATHERINSIGHT_SMTP_HOST``; a JSON POST to ``alerts.webhook_url``).
A channel that fails logs a warning and never raises: an alert problem must not hide the failure it reports.
The content builders take plain values (an Airflow task context is read as a mapping, duck-typed), so
this module needs no Airflow; ``airflow_tasks`` wires them to the operators' callbacks.
"""

from __future__ import annotations

import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

import httpx

from weatherinsight.logs import get_logger
from weatherinsight.pipeline.reports import error_text
from weatherinsight.quality.checks import QualityReport
from weatherinsight.settings import Settings

log = get_logger(__name__)


#: Slack's limits: a header block holds 150 characters of plain text, a section 3000 of mrkdwn.
_HEADER_LIMIT, _SECTION_LIMIT = 150, 3000


def send_alert(settings: Settings, subject: str, body: str) -> bool:
    """Send an alert through every configured channel (e-mail, webhook); True when at least one delivered it.

    Returns False (and logs a warning) when no channel is configured or every configured one failed.
    """
    email_ok = send_email(settings, subject, body) if _email_configured(settings) else None
    webhook_ok = send_webhook(settings, subject, body) if settings.alerts.webhook_url else None
    if email_ok is None and webhook_ok is None:
        log.warning(
            "alert_not_sent",
            reason="no channel configured (SMTP host and recipients, or alerts.webhook_url)",
            subject=subject,
        )
        return False
    return bool(email_ok or webhook_ok)


def _email_configured(settings: Settings) -> bool:
    return settings.smtp_host is not None and bool(settings.email.recipients)


def webhook_payload(subject: str, body: str) -> dict[str, Any]:
    """The Slack-compatible JSON of an alert: ``text`` (the fallback every receiver reads) and ``blocks``."""
    section = body if len(body) <= _SECTION_LIMIT else body[: _SECTION_LIMIT - 1] + "…"
    header = subject if len(subject) <= _HEADER_LIMIT else subject[: _HEADER_LIMIT - 1] + "…"
    return {
        "text": f"{subject}\n\n{body}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": header}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"```{section}```"}},
        ],
    }


def send_webhook(settings: Settings, subject: str, body: str) -> bool:
    """POST the alert as JSON to ``alerts.webhook_url``; False (logged as a warning) on any error or non-2xx."""
    cfg = settings.alerts
    if cfg.webhook_url is None:
        return False
    try:
        response = httpx.post(
            cfg.webhook_url,
            json=webhook_payload(subject, body),
            headers=cfg.headers(),
            timeout=cfg.webhook_timeout_seconds,
        )
        response.raise_for_status()
    except httpx.HTTPError as exc:
        # The URL may carry a token (Slack's do) and httpx's status errors quote it: log the host only.
        error = (
            f"HTTP {exc.response.status_code}" if isinstance(exc, httpx.HTTPStatusError) else error_text(exc)
        )
        host = httpx.URL(cfg.webhook_url).host
        log.warning("alert_webhook_failed", error=error, host=host, subject=subject)
        return False
    log.info("alert_webhook_sent", subject=subject, status=response.status_code)
    return True


def send_email(settings: Settings, subject: str, body: str) -> bool:
    """Send an alert e-mail to ``email.recipients`` through ``smtp_host:smtp_port``; False when it fails."""
    cfg = settings.email
    if settings.smtp_host is None or not cfg.recipients:
        return False
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(cfg.recipients)
    msg.set_content(body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        log.error("alert_failed", error=error_text(exc), host=settings.smtp_host, subject=subject)
        return False
    log.info("alert_sent", subject=subject, to=cfg.recipients)
    return True


def quality_alert(report: QualityReport) -> tuple[str, str]:
    """Subject and body of the alert on fatal data-quality findings (every finding listed)."""
    body = "\n".join(
        [
            f"Fatal data-quality findings for {report.quarter} (run {report.run_id}):",
            "",
            *(f"  {f.describe()}" for f in report.fatal),
            "",
            "Warnings:" if report.warnings else "No warnings.",
            *(f"  {f.describe()}" for f in report.warnings),
            "",
            f"Every result of this run is stored in quality_check_results (run_id = '{report.run_id}').",
        ]
    )
    return f"[WeatherInsight] FATAL data-quality findings for {report.quarter}", body


def describe_context(context: Mapping[str, Any]) -> dict[str, str]:
    """The identifying fields of an Airflow task context (dag, task, run, try, map index, log URL)."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    return {
        "dag_id": str(dag_id),
        "task_id": str(getattr(ti, "task_id", "?")),
        "run_id": str(context.get("run_id") or getattr(ti, "run_id", "?")),
        "try_number": str(getattr(ti, "try_number", "?")),
        "map_index": str(getattr(ti, "map_index", -1)),
        "log_url": str(getattr(ti, "log_url", "") or ""),
    }


def failure_alert(context: Mapping[str, Any]) -> tuple[str, str]:
    """Subject and body of the e-mail on a failed task, with its triage pointers."""
    exc = context.get("exception")
    info = describe_context(context)
    body = "\n".join(
        [
            f"Task {info['dag_id']}.{info['task_id']} failed (run {info['run_id']}, try {info['try_number']}).",
            "",
            f"Error: {exc!r}" if exc is not None else "Error: (no exception in the context)",
            f"Log: {info['log_url']}" if info["log_url"] else "",
            "",
            "Triage: see the DAG's documentation (doc_md) in the Airflow UI; re-running a task is safe "
            "(every step is idempotent; unchanged inputs are no-ops).",
        ]
    )
    return f"[WeatherInsight] task failed: {info['dag_id']}.{info['task_id']}", body


def retry_alert(context: Mapping[str, Any]) -> tuple[str, str]:
    """Subject and body of the e-mail on a task Airflow is about to retry."""
    info = describe_context(context)
    return (
        f"[WeatherInsight] task retrying: {info['dag_id']}.{info['task_id']}",
        f"Try {info['try_number']} of {info['task_id']} failed: {context.get('exception')!r}; Airflow retries it.",
    )
