"""The words every layer shares: pipeline steps, step outcomes, engines and progress reports.

One definition each, imported everywhere (CLI, API, DAGs, services). Values are plain strings (``StrEnum``)
so they compare equal to the text stored in the database, printed in tables and used in task ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Stage(StrEnum):
    """One step of the pipeline. The same word is the CLI verb, the log field and the YAML key."""

    INGEST = "ingest"
    STAGE = "stage"
    AGGREGATE = "aggregate"
    QUALITY = "quality"


#: The steps that produce data, in order (quality only reads).
DATA_STAGES: tuple[Stage, ...] = (Stage.INGEST, Stage.STAGE, Stage.AGGREGATE)

#: How a stage is named to people (task-group ids, "failed (ingestion)" in summaries and alerts).
STAGE_NOUNS: dict[Stage, str] = {
    Stage.INGEST: "ingestion",
    Stage.STAGE: "processing",
    Stage.AGGREGATE: "aggregation",
    Stage.QUALITY: "quality",
}


class Status(StrEnum):
    """The outcome of one step for one product (and quarter): the one result vocabulary."""

    SUCCEEDED = "succeeded"
    UNCHANGED = "unchanged"
    FAILED = "failed"


#: The engine that runs staging and the feature definitions.
Engine = Literal["duckdb", "spark"]
ENGINES: tuple[Engine, ...] = ("duckdb", "spark")


@dataclass(frozen=True)
class ProgressEvent:
    """A report from a long operation: ``advance`` units done on the named ``task``.

    The first event of a task carries its ``total`` (``None`` when unknown); services never draw anything
    themselves — the CLI turns these events into progress bars, the DAGs ignore them.
    """

    task: str
    advance: int = 0
    total: int | None = None


ProgressCallback = Callable[[ProgressEvent], None]


def no_progress(event: ProgressEvent) -> None:
    """The default callback: report nowhere."""
