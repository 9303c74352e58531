"""CLI verb `aggregate` (issue #5 fills it)."""

from __future__ import annotations

from weatherinsight.cli._common import not_built


def aggregate() -> None:
    """Not built yet."""
    not_built("aggregate", 5)
