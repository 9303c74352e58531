"""CLI verb `check` (issue #6 fills it)."""

from __future__ import annotations

from weatherinsight.cli._common import not_built


def check() -> None:
    """Not built yet."""
    not_built("check", 6)
