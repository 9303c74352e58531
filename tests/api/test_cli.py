"""`weatherinsight api serve` as a real process: migrates an empty database and answers on the given port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures.core import free_port
from weatherinsight import DWD_ATTRIBUTION


@pytest.mark.slow
def test_api_serve(data_dir: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "WEATHERINSIGHT_DATA_DIR": str(data_dir),
        "WEATHERINSIGHT_DATABASE_URL": f"sqlite:///{data_dir / 'served.db'}",
        "WEATHERINSIGHT_LOG_LEVEL": "WARNING",
    }
    cli = Path(sys.executable).with_name("weatherinsight")
    proc = subprocess.Popen(
        [str(cli), "api", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180  # start-up migrates the database; slow on a loaded 2-core box
        health = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert health is not None, (
            proc.stdout.read().decode() if proc.stdout and proc.poll() is not None else ""
        )
        body = health.json()
        assert (health.status_code, body["status"], body["attribution"]) == (200, "ok", DWD_ATTRIBUTION)
        assert set(body["latest_quarters"].values()) == {None}
        catalog = httpx.get(f"http://127.0.0.1:{port}/v1/catalog", timeout=5).json()
        assert catalog["count"] == 64  # the empty database was migrated and the catalog synced at start-up
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert proc.returncode in (0, -15)
