"""Per-key rate limiting: an in-process token bucket (capacity = the per-minute limit, refilled continuously).

A request over the limit gets 429 with ``Retry-After`` = whole seconds until one token is back. Buckets live in
one API process; with several workers each enforces the limit on its own share of traffic.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[int, tuple[float, float]] = {}  # key id → (tokens, last refill time)

    def acquire(self, key_id: int, per_minute: int) -> float:
        """Take one token; returns 0.0 when allowed, else the seconds to wait before retrying."""
        rate = per_minute / 60.0
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(key_id, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key_id] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key_id] = (tokens, now)
            return (1.0 - tokens) / rate

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))
