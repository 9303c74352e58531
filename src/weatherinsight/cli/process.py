"""CLI verb `process` (issue #4 fills it)."""

from __future__ import annotations

from weatherinsight.cli._common import not_built


def process() -> None:
    """Not built yet."""
    not_built("process", 4)


def stage() -> None:
    """Not built yet."""
    not_built("stage", 4)
