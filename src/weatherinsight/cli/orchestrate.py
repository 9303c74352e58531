"""CLI verbs `run` and `backfill` (issue #6 fills them)."""

from __future__ import annotations

from weatherinsight.cli._common import not_built


def run() -> None:
    """Run ingest → process → aggregate for one quarter (not built yet)."""
    not_built("run", 6)


def backfill() -> None:
    """Run the pipeline for a range of quarters (not built yet)."""
    not_built("backfill", 6)
