"""Staging: raw DWD zips of one product → staged hourly Parquet partitioned by year/quarter.

The public API is ``stage_product`` and what it returns; the modules own one step each: ``inventory``
(what the raw store holds), ``plan`` (what to rewrite), ``worker`` (per-file/per-station parsing and
``precedence``), ``spark`` (the same work on Spark), ``state`` (``_state.json``), ``quarantine``, ``record``
(the warehouse side) and ``service`` (the run). A daily product (climate/daily/kl) is staged by
``stage_daily`` (``staging.daily``: one row per station and DWD day, streamed station by station; its no-op
state, ``_daily_state.json``, is ``staging.daily_state``).
"""

from weatherinsight.staging.daily import DailyStageResult, stage_daily
from weatherinsight.staging.inventory import RawInput
from weatherinsight.staging.quarantine import QuarantinedFile
from weatherinsight.staging.record import mark_quarantined, release_quarantined
from weatherinsight.staging.result import StageResult, TimeReferenceDrop
from weatherinsight.staging.service import stage_product
from weatherinsight.staging.state import STATE_FILE, StagingState
from weatherinsight.staging.worker import FileOutcome

__all__ = [
    "STATE_FILE",
    "DailyStageResult",
    "FileOutcome",
    "QuarantinedFile",
    "RawInput",
    "StageResult",
    "StagingState",
    "TimeReferenceDrop",
    "mark_quarantined",
    "release_quarantined",
    "stage_daily",
    "stage_product",
]
