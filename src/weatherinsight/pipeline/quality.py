"""The quality step of a quarter: run the data-quality checks and alert on fatal findings."""

from __future__ import annotations

from collections.abc import Sequence

from weatherinsight import metrics
from weatherinsight.errors import RunFailedError
from weatherinsight.pipeline.alerts import quality_alert, send_alert
from weatherinsight.pipeline.steps import METRIC_STATUS
from weatherinsight.quality.checks import QualityReport, run_checks
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings
from weatherinsight.vocabulary import Stage, Status


class QualityCheckFailed(RunFailedError):
    """Fatal quality findings for a quarter; the alert has been sent already (``alert_sent``)."""

    def __init__(self, message: str, *, alert_sent: bool) -> None:
        self.alert_sent = alert_sent
        super().__init__(
            message, hint="see quality_check_results for the run and the triage notes of the DAG"
        )


def quality_check(
    settings: Settings,
    quarter: Quarter,
    *,
    products: Sequence[str] | None = None,
    run_id: str | None = None,
) -> QualityReport:
    """Run the checks of ``quarter``; on fatal findings send the alert e-mail. Returns the QualityReport."""
    with metrics.step_timer(settings, stage=Stage.QUALITY, product="all", quarter=str(quarter)) as timer:
        report = run_checks(settings, quarter, products=products, run_id=run_id)
        if report.fatal:
            timer.update(status=METRIC_STATUS[Status.FAILED])
    if report.fatal:
        subject, body = quality_alert(report)
        report.alert_sent = send_alert(settings, subject, body)
    return report
