"""CLI verb `ingest` (issue #3 fills it)."""

from __future__ import annotations

from weatherinsight.cli._common import not_built


def ingest() -> None:
    """Not built yet."""
    not_built("ingest", 3)
