"""Issue #14 defect 7: with API keys off, ``api_rate_limit_per_minute`` limits each client address (429 with
Retry-After, on the hot path exactly as on the routes), and with ``api_redis_url`` the count is shared by every
API process: two real ``weatherinsight api serve`` processes on one real Redis allow the limit once in total.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import REFRESH_SECONDS, ServerThread, seed_database
from tests.conftest import require
from tests.fixtures.core import free_port, make_settings
from weatherinsight.api.app import create_app
from weatherinsight.settings import Settings

REDIS_URL = "redis://127.0.0.1:6379/0"
CLI = Path(sys.executable).with_name("weatherinsight")
FEATURES = "/v1/features/air_temperature?station_id=44"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def seeded(tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path, api_data_refresh_seconds=REFRESH_SECONDS)
    seed_database(settings.database_url, settings)
    return settings


def test_anonymous_clients_get_429_after_the_limit(seeded: Settings) -> None:
    settings = make_settings(seeded.data_dir, api_rate_limit_per_minute=4, api_data_refresh_seconds=60)
    app = create_app(settings)
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as client:
        # The first request fills the station cache through the route; the next three take the hot path.
        statuses = [client.get(FEATURES).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 200]
        assert app.state.api.hot_path_served == 3
        limited = client.get(FEATURES)
        assert limited.status_code == 429
        assert limited.json()["error"] == "rate_limited"
        assert (
            "rate limit of 4 requests per minute exceeded for client 127.0.0.1" in limited.json()["message"]
        )
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        # The same count covers every data route of this address; health stays open for load balancers.
        assert client.get("/v1/catalog").status_code == 429
        assert client.get("/v1/stations").status_code == 429
        assert client.get("/v1/health").status_code == 200
        assert app.state.api.hot_path_served == 3


def test_no_anonymous_limit_unless_configured(seeded: Settings) -> None:
    app = create_app(seeded)
    with ServerThread(app) as server, httpx.Client(base_url=server.url) as client:
        assert [client.get("/v1/catalog").status_code for _ in range(30)] == [200] * 30


@pytest.fixture
def two_servers(seeded: Settings, tmp_path: Path) -> Iterator[list[str]]:
    """Two ``weatherinsight api serve`` processes on one database and one Redis, limit 6 per minute."""
    require(_redis_up(), f"Redis not reachable at {REDIS_URL}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEATHERINSIGHT_")}
    env.update(
        WEATHERINSIGHT_DATA_DIR=str(seeded.data_dir),
        WEATHERINSIGHT_DATABASE_URL=seeded.database_url,
        WEATHERINSIGHT_API_RATE_LIMIT_PER_MINUTE="6",
        WEATHERINSIGHT_API_REDIS_URL=REDIS_URL,
    )
    ports = [free_port(), free_port()]
    procs = [
        subprocess.Popen(
            [str(CLI), "api", "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        for url, proc in zip(urls, procs, strict=True):
            deadline = time.monotonic() + 240  # CLI start-up on a loaded 2-core machine
            while True:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                try:
                    if httpx.get(f"{url}/v1/health", timeout=2).status_code in (200, 503):
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "api serve did not start"
                time.sleep(0.3)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


@pytest.mark.slow
def test_two_server_processes_share_one_limit_through_redis(two_servers: list[str]) -> None:
    first, second = two_servers
    # 3 + 3 requests spread over both processes use up the shared limit of 6 …
    assert [httpx.get(f"{first}{FEATURES}").status_code for _ in range(3)] == [200] * 3
    assert [httpx.get(f"{second}{FEATURES}").status_code for _ in range(3)] == [200] * 3
    # … so each process now refuses, though it has counted only 3 itself (a per-process count would allow 3 more).
    for url in (first, second, first):
        limited = httpx.get(f"{url}{FEATURES}")
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 60
