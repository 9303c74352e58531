"""Cross-process locks that serialise work on one product (× quarter): ingest, stage and aggregate runs.

``exclusive(settings, name)`` holds a lock named e.g. ``ingest:air_temperature`` or
``aggregate:air_temperature:2024Q1`` for the duration of a ``with`` block:

* PostgreSQL — a *session* advisory lock (``pg_advisory_lock``) on a dedicated connection, keyed by a 63-bit
  hash of the name. Every worker that shares the database shares the lock, whatever its host; a killed
  process drops its connection and the server releases the lock.
* SQLite (or any other database) — ``flock`` on ``<data_dir>/locks/<name>.lock``. The database file is local
  to one host, so a host-local lock is enough; the kernel releases it when the process dies.

A second runner *waits* (it logs ``lock_wait`` once) and then repeats its own "unchanged" check inside the lock,
so two runs of the same inputs publish one version. Because the holder is alive while the lock is held, a row
left ``running`` by another process of the same product is stale once the lock is acquired (``ingest.record``).
"""

from __future__ import annotations

import fcntl
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from weatherinsight.logs import get_logger
from weatherinsight.settings import Settings
from weatherinsight.warehouse import db

log = get_logger(__name__)

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` (the first 8 bytes of sha256, high bit cleared)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def lock_file(settings: Settings, name: str) -> Path:
    """The flock file of ``name`` under ``<data_dir>/locks/``."""
    return Path(settings.data_dir) / "locks" / f"{_SAFE.sub('_', name)}.lock"


@contextmanager
def exclusive(settings: Settings, name: str) -> Iterator[None]:
    """Hold the cross-process lock ``name`` while the block runs (waits for another holder to finish)."""
    engine = db.get_engine(settings.database_url)
    if engine.dialect.name == "postgresql":
        key = lock_key(name)
        with engine.connect() as conn:
            got = conn.execute(select(func.pg_try_advisory_lock(key))).scalar_one()
            if not got:
                log.info("lock_wait", lock=name)
                conn.execute(select(func.pg_advisory_lock(key)))
            conn.commit()  # end the implicit transaction: the session lock outlives it, no snapshot is held
            try:
                yield
            finally:
                try:
                    conn.execute(select(func.pg_advisory_unlock(key)))
                    conn.commit()
                except DBAPIError:  # a broken connection: closing it releases the session lock anyway
                    log.warning("lock_release_failed", lock=name)
        return
    path = lock_file(settings, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("lock_wait", lock=name)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
