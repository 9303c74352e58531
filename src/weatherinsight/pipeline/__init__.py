"""The pipeline's use cases: the steps of one product × quarter, a quarter, a backfill, the quality check.

The CLI and the Airflow tasks (``pipeline.airflow_tasks``, the one Airflow-facing module) both go through
these. Functions take ``Quarter``s and report progress through a ``ProgressCallback``; they never parse
input or draw anything.
"""

from weatherinsight.pipeline.alerts import send_alert
from weatherinsight.pipeline.backfill import BackfillParams, backfill, verify_backfill
from weatherinsight.pipeline.quality import QualityCheckFailed, quality_check
from weatherinsight.pipeline.reports import ProductOutcome, RunReport, StepResult, verify_outcomes
from weatherinsight.pipeline.runs import run_quarter
from weatherinsight.pipeline.steps import aggregate, ingest, stage

__all__ = [
    "BackfillParams",
    "ProductOutcome",
    "QualityCheckFailed",
    "RunReport",
    "StepResult",
    "aggregate",
    "backfill",
    "ingest",
    "quality_check",
    "run_quarter",
    "send_alert",
    "stage",
    "verify_backfill",
    "verify_outcomes",
]
