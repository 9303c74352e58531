"""API keys: creation (the secret is shown once), hashing, revocation, listing and lookup.

Only the SHA-256 of a key is stored (``api_keys.key_hash``) with a short prefix so people can tell keys apart.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, select, update

from weatherinsight.errors import WeatherInsightError
from weatherinsight.warehouse.tables import api_keys

KEY_PREFIX = "wi_"


class ApiKeyError(WeatherInsightError):
    """An API key operation failed (unknown id, empty name)."""


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    key_prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    rate_limit_per_minute: int | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _aware(ts: datetime | None) -> datetime | None:
    return ts if ts is None or ts.tzinfo else ts.replace(tzinfo=UTC)


def _from_row(row: object) -> ApiKey:
    m = row._mapping  # type: ignore[attr-defined]
    return ApiKey(
        id=m["id"],
        name=m["name"],
        key_prefix=m["key_prefix"],
        created_at=_aware(m["created_at"]) or datetime.now(UTC),
        revoked_at=_aware(m["revoked_at"]),
        last_used_at=_aware(m["last_used_at"]),
        rate_limit_per_minute=m["rate_limit_per_minute"],
    )


def create_key(
    conn: Connection, name: str, *, rate_limit_per_minute: int | None = None
) -> tuple[ApiKey, str]:
    """Create a key; returns the stored record and the secret (shown once, never stored)."""
    name = name.strip()
    if not name:
        raise ApiKeyError("an API key needs a non-empty name")
    if rate_limit_per_minute is not None and rate_limit_per_minute < 1:
        raise ApiKeyError(f"rate limit must be at least 1 request per minute, got {rate_limit_per_minute}")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    new_id = conn.execute(
        api_keys.insert()
        .values(
            name=name,
            key_hash=hash_key(secret),
            key_prefix=secret[:10],
            created_at=datetime.now(UTC),
            rate_limit_per_minute=rate_limit_per_minute,
        )
        .returning(api_keys.c.id)
    ).scalar_one()
    return get_key(conn, new_id), secret


def get_key(conn: Connection, key_id: int) -> ApiKey:
    row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
    if row is None:
        raise ApiKeyError(
            f"no API key with id {key_id}", hint="list keys with `weatherinsight api keys list`"
        )
    return _from_row(row)


def revoke_key(conn: Connection, key_id: int) -> ApiKey:
    """Revoke a key (idempotent: revoking twice keeps the first revocation time)."""
    key = get_key(conn, key_id)
    if key.revoked_at is None:
        conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=datetime.now(UTC)))
    return get_key(conn, key_id)


def list_keys(conn: Connection) -> list[ApiKey]:
    return [_from_row(r) for r in conn.execute(select(api_keys).order_by(api_keys.c.id))]


def find_by_secret(conn: Connection, secret: str) -> ApiKey | None:
    row = conn.execute(select(api_keys).where(api_keys.c.key_hash == hash_key(secret))).first()
    return _from_row(row) if row is not None else None


def touch(conn: Connection, key_id: int, when: datetime) -> None:
    conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=when))
