"""API rate limits: per API key, and per client address for anonymous clients, over a moving one-minute window.

Built on the ``limits`` library: its in-memory storage when no Redis is configured (each API process then counts
on its own), its Redis storage when ``WEATHERINSIGHT_API_REDIS_URL`` is set, so every worker process (and every
server of one deployment) shares one count per key or address. Redis keys are prefixed with a hash of the
curated database URL, so deployments (and test runs) sharing one Redis never count each other's requests.

A request over its limit gets 429 with ``Retry-After`` = whole seconds until the oldest counted request leaves
the window. If Redis fails at run time the request is allowed and the failure logged: an unreachable limiter
must not take the data service down with it.
"""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter

from weatherinsight.logs import get_logger

log = get_logger(__name__)
#: Seconds between two warnings about a failing Redis (one per request would flood the log).
_WARN_EVERY_S = 60.0


class RateLimiter:
    """Counts requests per identity (``key:<id>`` or ``addr:<ip>``) in memory or in a shared Redis."""

    def __init__(self, redis_url: str | None = None, *, namespace: str = "") -> None:
        prefix = "weatherinsight:" + hashlib.sha256(namespace.encode("utf-8")).hexdigest()[:12]
        self.storage: MemoryStorage | RedisStorage = (
            RedisStorage(redis_url, key_prefix=prefix) if redis_url else MemoryStorage()
        )
        self.shared = redis_url is not None
        self._limiter = MovingWindowRateLimiter(self.storage)
        self._items: dict[int, RateLimitItem] = {}
        self._warned_at = -math.inf

    def acquire(self, identity: str, per_minute: int) -> float:
        """Count one request of ``identity``; 0.0 when allowed, else the seconds to wait before retrying."""
        item = self._items.get(per_minute)
        if item is None:
            item = self._items[per_minute] = RateLimitItemPerMinute(per_minute)
        try:
            if self._limiter.hit(item, identity):
                return 0.0
            reset_time = self._limiter.get_window_stats(item, identity).reset_time
        except Exception as exc:
            self._warn(exc)
            return 0.0
        return max(reset_time - time.time(), 0.001)

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY_S:
            self._warned_at = now
            log.warning("rate_limit_storage_failed", error=f"{type(exc).__name__}: {exc}", allowed=True)

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))


def client_identity(host: str | None) -> str:
    """The identity an anonymous request is counted under: its client address (after uvicorn's proxy headers)."""
    return f"addr:{host or 'unknown'}"
