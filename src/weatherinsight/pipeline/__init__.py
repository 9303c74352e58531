"""The pipeline's use cases: the steps of one product × quarter, a quarter, a backfill, the quality check.

The CLI and the Airflow tasks (``pipeline.airflow_tasks``, the one Airflow-facing module) both go through
these. Functions take ``Quarter``s and report progress through a ``ProgressCallback``; they never parse
input or draw anything.

The names below are imported on first use (PEP 562 ``__getattr__``): Airflow parses the DAG files, which
import ``pipeline.airflow_tasks``, ``pipeline.airflow_backfill_tasks`` and ``pipeline.catchup``, for every
task it starts, and importing the package must not load the engines (pyarrow, DuckDB, ibis) for that.
"""

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from weatherinsight.pipeline.alerts import send_alert
    from weatherinsight.pipeline.backfill import BackfillParams, verify_backfill
    from weatherinsight.pipeline.quality import QualityCheckFailed, quality_check
    from weatherinsight.pipeline.reports import ProductOutcome, RunReport, StepResult, verify_outcomes
    from weatherinsight.pipeline.runs import run_quarter
    from weatherinsight.pipeline.steps import aggregate, ingest, stage

#: Public name → the module of this package that defines it. Not ``backfill``: the function's name is its
#: module's, and a lazily imported submodule takes the package attribute (import it from ``.backfill``).
_HOMES = {
    "send_alert": "alerts",
    "BackfillParams": "backfill",
    "verify_backfill": "backfill",
    "QualityCheckFailed": "quality",
    "quality_check": "quality",
    "ProductOutcome": "reports",
    "RunReport": "reports",
    "StepResult": "reports",
    "verify_outcomes": "reports",
    "run_quarter": "runs",
    "aggregate": "steps",
    "ingest": "steps",
    "stage": "steps",
}

__all__ = [
    "BackfillParams",
    "ProductOutcome",
    "QualityCheckFailed",
    "RunReport",
    "StepResult",
    "aggregate",
    "ingest",
    "quality_check",
    "run_quarter",
    "send_alert",
    "stage",
    "verify_backfill",
    "verify_outcomes",
]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'weatherinsight.pipeline' has no attribute {name!r}")
    return getattr(import_module(f"weatherinsight.pipeline.{home}"), name)
