"""Alert e-mails: sending over plain ``smtplib`` and the content of every alert the pipeline sends.

The content builders take plain values (an Airflow task context is read as a mapping, duck-typed), so
this module needs no Airflow; ``airflow_tasks`` wires them to the operators' callbacks.
"""

from __future__ import annotations

import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from weatherinsight.logs import get_logger
from weatherinsight.pipeline.reports import error_text
from weatherinsight.quality.checks import QualityReport
from weatherinsight.settings import Settings

log = get_logger(__name__)


def send_alert(settings: Settings, subject: str, body: str) -> bool:
    """Send an alert e-mail to ``pipeline.email.recipients`` through ``smtp_host:smtp_port``.

    Returns False (and logs) when no SMTP host or recipient is configured, or the server refuses: an
    alert problem must never hide the failure it reports.
    """
    cfg = settings.email
    if settings.smtp_host is None or not cfg.recipients:
        log.warning("alert_not_sent", reason="no SMTP host or recipients configured", subject=subject)
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
