"""A process killed in the middle of publishing (rows loaded, transaction not committed) leaves the previous
curated version intact and visible; the next run publishes normally (SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.aggregate.test_service import rows_per_version, stage, versions
from tests.conftest import REPO
from tests.features import cases
from tests.features.staged_rows import Q
from weatherinsight.aggregate import aggregate_quarter
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db, lineage

# Runs aggregate_quarter(force=True) with bulk_insert wrapped: after the rows are written inside the
# publishing transaction it signals the test and sleeps, so the test can SIGKILL it mid-transaction.
CHILD = """
import sys, time, pathlib
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db
from weatherinsight import aggregate
from weatherinsight.quarters import Quarter

real = db.bulk_insert
def loaded_then_hang(conn, table, data):
    n = real(conn, table, data)
    pathlib.Path(sys.argv[3]).write_text(str(n))
    time.sleep(300)
    return n
db.bulk_insert = loaded_then_hang
settings = Settings(data_dir=sys.argv[1], database_url=sys.argv[2])
aggregate.aggregate_quarter(settings, "pressure", Quarter.parse("2024Q1"), force=True)
"""


@pytest.mark.slow
def test_kill_during_publish_keeps_previous_version(db_settings: Settings, tmp_path: Path) -> None:
    s = db_settings
    stage(s, "pressure", cases.pressure())
    assert aggregate_quarter(s, "pressure", Q).dataset_version == "2024Q1_v1"
    marker = tmp_path / "rows-loaded"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(s.data_dir), s.database_url, str(marker)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            assert time.monotonic() < deadline, "child never reached the write"
            time.sleep(0.1)
        assert marker.read_text() == "3"  # the new version's rows were in the open transaction
    finally:
        child.kill()
        child.wait(timeout=30)
        if child.stderr:
            child.stderr.close()
    assert child.returncode == -9
    db.dispose_engines()
    assert versions(s, "pressure") == {"2024Q1_v1": "AVAILABLE"}
    assert rows_per_version(s, "pressure") == {"2024Q1_v1": 3}
    with db.get_engine(s.database_url).connect() as conn:
        assert {r["dataset_version"] for r in lineage.read_published(conn, "pressure", Q)} == {"2024Q1_v1"}
    rerun = aggregate_quarter(s, "pressure", Q, force=True)
    assert (rerun.dataset_version, rerun.previous_version) == ("2024Q1_v2", "2024Q1_v1")
    assert versions(s, "pressure") == {"2024Q1_v1": "SUPERSEDED", "2024Q1_v2": "AVAILABLE"}
