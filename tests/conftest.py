"""Shared test setup. The fixture modules in tests/fixtures/ (one per area) are listed in ``pytest_plugins``.

Under CI=true a missing service (PostgreSQL, Java for Spark, …) fails the test; elsewhere it skips.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.airflow",
    "tests.fixtures.core",
    "tests.fixtures.mirror",
    "tests.fixtures.s3",
    "tests.fixtures.smtp",
    "tests.fixtures.spark",
    "tests.fixtures.spark_cluster",
]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"


def require(condition: bool, why: str) -> None:
    """Skip locally, fail in CI, when a real service the test needs is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required service missing under CI=true: {why}")
    pytest.skip(why)
