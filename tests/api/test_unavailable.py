"""A database that cannot be reached gives 503 with a clear message (never 500); health says why."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.api.conftest import ServerThread, _make_settings
from weatherinsight.api.app import create_app


def test_unreachable_database_is_503(data_dir: Path) -> None:
    # Nothing listens on port 1: every connection attempt is refused at once.
    settings = _make_settings(data_dir, "postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    with (
        ServerThread(create_app(settings)) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        features = client.get("/v1/features/wind/2024/1")
        assert features.status_code == 503
        assert features.headers["retry-after"] == "5"
        assert features.json()["error"] == "database_unavailable"
        assert features.json()["message"] == "the curated database is not reachable; retry later"
        health = client.get("/v1/health")
        assert health.status_code == 503
        assert (health.json()["status"], health.json()["database"]) == ("unavailable", "unreachable")
        assert client.get("/v1/ping").status_code == 200
        metrics = client.get("/v1/metrics")
        assert metrics.status_code == 200
        assert 'route="/v1/features/{product}/{year}/{quarter}",status="503"' in metrics.text
