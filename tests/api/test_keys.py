"""API keys (hashed, revocable), per-key rate limit with 429 + Retry-After, CORS, and the `api keys` CLI."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator

import httpx
import pytest
import structlog
from sqlalchemy import select
from typer.testing import CliRunner

from tests.api.conftest import Backend, ServerThread
from weatherinsight.api import keys
from weatherinsight.api.ratelimit import RateLimiter
from weatherinsight.cli import app as cli_app
from weatherinsight.warehouse import db
from weatherinsight.warehouse.tables import api_keys


def test_keys_required_and_rate_limited(keyed_server: tuple[Backend, ServerThread]) -> None:
    backend, server = keyed_server
    engine = db.get_engine(backend.url)
    with engine.begin() as conn:
        key, secret = keys.create_key(conn, "test client")
        other, other_secret = keys.create_key(conn, "generous", rate_limit_per_minute=100)
    with engine.connect() as conn:
        stored = conn.execute(select(api_keys).where(api_keys.c.id == key.id)).one()
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in [str(v) for v in stored]
    with httpx.Client(base_url=server.url) as client:
        missing = client.get("/v1/catalog")
        assert missing.status_code == 401
        assert missing.json()["error"] == "missing_api_key"
        wrong = client.get("/v1/catalog", headers={"X-API-Key": "wi_not-a-key"})
        assert (wrong.status_code, wrong.json()["error"]) == (403, "invalid_api_key")
        assert client.get("/v1/health").status_code == 200  # health and metrics stay open
        # The default limit for this server is 3 requests per minute.
        for _ in range(3):
            ok = client.get("/v1/features/wind/2024/1", headers={"X-API-Key": secret})
            assert ok.status_code == 200
            assert ok.headers["cache-control"] == "private, max-age=300"
        limited = client.get("/v1/catalog", headers={"X-API-Key": secret})
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert "rate limit of 3 requests per minute exceeded" in limited.json()["message"]
        # Another key has its own bucket and its own limit.
        assert client.get("/v1/catalog", headers={"X-API-Key": other_secret}).status_code == 200
        with engine.begin() as conn:
            revoked = keys.revoke_key(conn, other.id)
        assert revoked.revoked_at is not None
        assert client.get("/v1/catalog", headers={"X-API-Key": other_secret}).status_code == 403
    with engine.connect() as conn:
        used = keys.get_key(conn, key.id)
    assert used.last_used_at is not None


def test_cors(keyed_server: tuple[Backend, ServerThread]) -> None:
    _, server = keyed_server
    with httpx.Client(base_url=server.url) as client:
        pre = client.options(
            "/v1/catalog",
            headers={"Origin": "https://maps.example.org", "Access-Control-Request-Method": "GET"},
        )
        assert pre.status_code == 200
        assert pre.headers["access-control-allow-origin"] == "https://maps.example.org"
        denied = client.options(
            "/v1/catalog",
            headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in denied.headers
        simple = client.get("/v1/health", headers={"Origin": "https://other.example.org"})
        assert simple.headers["access-control-allow-origin"] == "https://other.example.org"
        assert "X-Data-Attribution" in simple.headers["access-control-expose-headers"]


def test_moving_window_counts_per_identity() -> None:
    limiter = RateLimiter()
    assert [limiter.acquire("key:1", 2) for _ in range(2)] == [0.0, 0.0]
    wait = limiter.acquire("key:1", 2)
    assert 58.0 < wait <= 60.0  # the first request leaves the one-minute window in about a minute
    assert RateLimiter.retry_after(wait) in ("59", "60")
    assert RateLimiter.retry_after(0.2) == "1"
    assert limiter.acquire("key:2", 2) == 0.0  # identities do not share counts
    assert limiter.acquire("addr:127.0.0.1", 2) == 0.0


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The CLI configures logging onto CliRunner's temporary stderr; put the previous configuration back."""
    saved_structlog = structlog.get_config()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        yield
    finally:
        structlog.configure(**saved_structlog)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


@pytest.mark.usefixtures("restore_logging")
def test_cli_keys(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEATHERINSIGHT_DATABASE_URL", db_url)
    runner = CliRunner()
    created = runner.invoke(cli_app, ["api", "keys", "create", "alice", "--rate-limit", "30"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("wi_")
    assert "created API key 1 (alice)" in created.output
    listed = runner.invoke(cli_app, ["api", "keys", "list"])
    assert listed.exit_code == 0
    assert "alice" in listed.output and secret not in listed.output and secret[:10] in listed.output
    revoked = runner.invoke(cli_app, ["api", "keys", "revoke", "1"])
    assert revoked.exit_code == 0
    assert "revoked API key 1 (alice)" in revoked.output
    with db.get_engine(db_url).connect() as conn:
        [key] = keys.list_keys(conn)
        assert (key.name, key.rate_limit_per_minute, key.active) == ("alice", 30, False)
        assert keys.find_by_secret(conn, secret) == key
    unknown = runner.invoke(cli_app, ["api", "keys", "revoke", "7"])
    assert unknown.exit_code != 0
    assert isinstance(unknown.exception, keys.ApiKeyError)
    assert str(unknown.exception) == "no API key with id 7 — list keys with `weatherinsight api keys list`"
    db.dispose_engines()
