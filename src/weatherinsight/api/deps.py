"""Request dependencies: app state, API-key check with per-key rate limit, caching headers, shared parameters.

* ``require_api_key`` — when ``settings.api_keys_required``: ``X-API-Key`` missing → 401, unknown/revoked → 403,
  over the key's per-minute limit → 429 with ``Retry-After``.
* ``limit_anonymous`` — when keys are off and ``api_rate_limit_per_minute`` is set: the same limit per client
  address (429 with ``Retry-After``); counts are shared through Redis when ``api_redis_url`` is set. Key lookups are cached for a few seconds so a
  revocation takes effect within ``key_cache_seconds``.
* ``conditional`` — ``ETag`` / ``Cache-Control`` / ``Vary`` headers, and whether ``If-None-Match`` matched (→ 304);
  ``make_etag`` builds every ETag from the data versions, the request and ``RESPONSE_FORMAT_VERSION``.
* Parameter parsers turn bad input into 400 answers that say what is allowed.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Request, Response, Security
from fastapi.security import APIKeyHeader
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from weatherinsight.api import keys
from weatherinsight.api.errors import ApiError
from weatherinsight.api.metrics import ApiMetrics
from weatherinsight.api.published import PublishedCache
from weatherinsight.api.ratelimit import RateLimiter, client_identity
from weatherinsight.errors import InvalidQuarterError
from weatherinsight.quarters import QUARTER_PATTERN, Quarter
from weatherinsight.settings import Settings

#: Requests per minute of an API key without its own limit when ``api_rate_limit_per_minute`` is unset.
DEFAULT_KEY_RATE_LIMIT = 600
MAX_PAGE = 10_000
DEFAULT_PAGE = 1_000
MAX_STATION_IDS = 100
#: Station ids are DWD's 1..99999 (five digits in file names).
STATION_ID_MAX = 99_999


class BodyCache:
    """Bounded LRU of finished response bodies, keyed by (ETag, URL).

    Only for representations an ETag fully identifies: the ETag of a data route is derived from the immutable
    version(s) of the rows served plus the query and format, and the URL adds the host that ``next`` links
    carry. A hit skips the row conversion and serialisation (and, for a whole quarter, the main query).
    Bounded by entry count and total bytes; thread-safe (sync routes run in the thread pool).
    """

    def __init__(self, max_entries: int = 4096, max_bytes: int = 64 << 20, max_body: int = 4 << 20) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_body = max_body
        self._entries: OrderedDict[tuple[str, str], tuple[bytes, list[tuple[bytes, bytes]]]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, etag: str, url: str) -> Response | None:
        with self._lock:
            hit = self._entries.get((etag, url))
            if hit is None:
                return None
            self._entries.move_to_end((etag, url))
        body, raw_headers = hit
        response = Response(body)
        response.raw_headers = list(raw_headers)
        return response

    def put(self, etag: str, url: str, response: Response) -> None:
        """Keep a plain (non-streamed) 200 response's body and headers; anything else is not cached."""
        if type(response) is not Response or response.status_code != 200:
            return
        body = bytes(response.body)
        if self.max_entries <= 0 or len(body) > self.max_body:
            return
        with self._lock:
            old = self._entries.pop((etag, url), None)
            if old is not None:
                self._bytes -= len(old[0])
            self._entries[(etag, url)] = (body, list(response.raw_headers))
            self._bytes += len(body)
            while self._entries and (len(self._entries) > self.max_entries or self._bytes > self.max_bytes):
                _, (dropped, _) = self._entries.popitem(last=False)
                self._bytes -= len(dropped)


@dataclass
class ApiState:
    """Everything a request needs, built once per app."""

    settings: Settings
    engine: Engine
    metrics: ApiMetrics
    #: Published versions and station rows held in the process.
    published: PublishedCache
    limiter: RateLimiter = field(default_factory=RateLimiter)
    key_cache_seconds: float = 5.0
    data_max_age: int = 300
    bodies: BodyCache = field(default_factory=BodyCache)
    #: Requests answered by the hot path (``api.hotpath``), for tests and metrics.
    hot_path_served: int = 0
    _key_cache: dict[str, tuple[float, keys.ApiKey | None]] = field(default_factory=dict)
    _key_lock: threading.Lock = field(default_factory=threading.Lock)

    def cached_key(self, secret: str) -> keys.ApiKey | None:
        """The key record for ``secret`` if it is in the cache and not expired; never reads the database."""
        with self._key_lock:
            hit = self._key_cache.get(keys.hash_key(secret))
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def lookup_key(self, secret: str) -> keys.ApiKey | None:
        """The key record for ``secret`` (cached ``key_cache_seconds``); refreshes ``last_used_at`` on a miss."""
        digest = keys.hash_key(secret)
        now = time.monotonic()
        with self._key_lock:
            hit = self._key_cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        with self.engine.begin() as conn:
            record = keys.find_by_secret(conn, secret)
            if record is not None and record.active:
                keys.touch(conn, record.id, datetime.now(UTC))
        with self._key_lock:
            if len(self._key_cache) > 10_000:  # bound memory against floods of random keys
                self._key_cache.clear()
            self._key_cache[digest] = (now + self.key_cache_seconds, record)
        return record


async def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="API key (required when the server runs with WEATHERINSIGHT_API_KEYS_REQUIRED=true)",
)


async def require_api_key(
    request: Request, api_key: Annotated[str | None, Security(API_KEY_HEADER)] = None
) -> keys.ApiKey | None:
    state: ApiState = request.app.state.api
    if not state.settings.api_keys_required:
        return None
    if not api_key:
        raise ApiError(
            401,
            "missing_api_key",
            "this server requires an API key in the X-API-Key header; ask an operator for one",
            headers={"WWW-Authenticate": 'ApiKey header="X-API-Key"'},
        )
    record = await run_in_threadpool(state.lookup_key, api_key)
    if record is None or not record.active:
        raise ApiError(403, "invalid_api_key", "the API key in X-API-Key is unknown or revoked")
    limit = key_limit(state, record)
    if state.limiter.shared:
        await run_in_threadpool(_enforce, state, f"key:{record.id}", limit, f"key {record.key_prefix}…")
    else:
        _enforce(state, f"key:{record.id}", limit, f"key {record.key_prefix}…")
    return record


def key_limit(state: ApiState, record: keys.ApiKey) -> int:
    """Requests per minute allowed to ``record``: its own limit, else the configured or built-in default."""
    return record.rate_limit_per_minute or state.settings.api_rate_limit_per_minute or DEFAULT_KEY_RATE_LIMIT


async def limit_anonymous(request: Request) -> None:
    """Keys off and ``api_rate_limit_per_minute`` set: count the request against its client address."""
    state: ApiState = request.app.state.api
    limit = state.settings.api_rate_limit_per_minute
    if limit is None or state.settings.api_keys_required:
        return
    host = request.client.host if request.client else None
    if state.limiter.shared:
        # A Redis round trip: off the event loop, as the database calls are.
        await run_in_threadpool(_enforce, state, client_identity(host), limit, f"client {host}")
    else:
        _enforce(state, client_identity(host), limit, f"client {host}")


def _enforce(state: ApiState, identity: str, limit: int, who: str) -> None:
    wait = state.limiter.acquire(identity, limit)
    if wait > 0:
        retry = RateLimiter.retry_after(wait)
        raise ApiError(
            429,
            "rate_limited",
            f"rate limit of {limit} requests per minute exceeded for {who}; retry in {retry} s",
            headers={"Retry-After": retry},
        )


# ------------------------------------------------------------------------------------------- caching


#: The version of what the routes make of the same data: it enters every ETag (and so the body cache's keys).
#: BUMP IT whenever a deploy changes a response body for unchanged data versions — a rounding or computation
#: rule, a new or renamed column or field, another CSV/Parquet layout — or clients revalidating a pre-deploy
#: ETag get 304 for a body that is no longer what they hold.
#: 1: before it existed. 2: ``<feature>_anomaly`` = round(served value − normal) (was: from the stored value).
RESPONSE_FORMAT_VERSION = 2


def make_etag(*parts: object) -> str:
    """A strong ETag of ``parts`` (the data versions and request that identify a representation) under the
    current ``RESPONSE_FORMAT_VERSION``."""
    text = "\x1f".join(str(p) for p in (f"format:{RESPONSE_FORMAT_VERSION}", *parts))
    return f'"{hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]}"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


def cache_headers(state: ApiState, etag: str | None, max_age: int | None = None) -> dict[str, str]:
    scope = "private" if state.settings.api_keys_required else "public"
    headers = {
        "Cache-Control": f"{scope}, max-age={state.data_max_age if max_age is None else max_age}",
        "Vary": "Accept, X-API-Key" if state.settings.api_keys_required else "Accept",
    }
    if etag:
        headers["ETag"] = etag
    return headers


def conditional(
    request: Request, state: ApiState, etag: str, max_age: int | None = None
) -> tuple[bool, dict[str, str]]:
    """(True if the client's If-None-Match matches → answer 304, the caching headers to send either way)."""
    return _matches(request.headers.get("if-none-match"), etag), cache_headers(state, etag, max_age)


# ------------------------------------------------------------------------------------------- parameters


# Documented (OpenAPI ``pattern``) and enforced: the canonical spellings, nothing looser. Quarters use the one
# grammar, weatherinsight.quarters.QUARTER_PATTERN.
_NUM = r"-?[0-9]{1,3}(\.[0-9]{1,12})?"
BBOX_PATTERN = rf"^{_NUM},{_NUM},{_NUM},{_NUM}$"
POINT_PATTERN = rf"^{_NUM},{_NUM}$"
FEATURES_PATTERN = r"^[a-z0-9_]{1,64}(,[a-z0-9_]{1,64}){0,99}$"
# What the spec states (tighter than the enforced shapes above, whose 400s name the range that was broken):
# latitudes -90..90 and longitudes -180..180, so a schema-valid value is one the server accepts.
_LAT = r"-?(90(\.0{1,12})?|[1-8]?[0-9](\.[0-9]{1,12})?)"
_LON = r"-?(180(\.0{1,12})?|(1[0-7][0-9]|[1-9]?[0-9])(\.[0-9]{1,12})?)"
BBOX_SPEC_PATTERN = rf"^{_LON},{_LAT},{_LON},{_LAT}$"
POINT_SPEC_PATTERN = rf"^{_LAT},{_LON}$"
#: Free-text filters: printable characters only (``clean_text`` answers 400 for control characters).
TEXT_SPEC_PATTERN = r"^[^\x00-\x1f\x7f]*$"
#: ``from``/``to`` as the server accepts them: the quarter grammar with years 1800..2200 (Quarter's range).
API_QUARTER_PATTERN = r"^(18[0-9]{2}|19[0-9]{2}|2[01][0-9]{2}|2200)Q[1-4]$"
_QUARTER_SHAPE = re.compile(r"[0-9]{4}Q[0-9]+")  # looser than the grammar, to tell a bad number from noise
_QUARTER_RE = re.compile(QUARTER_PATTERN)


def require_pattern(name: str, value: str, pattern: str, example: str) -> str:
    if not re.fullmatch(pattern.strip("^$"), value):
        raise ApiError(
            400, "invalid_parameter", f"query parameter {name!r}: {value[:64]!r} is not of the form {example}"
        )
    return value


def parse_quarter(name: str, text: str) -> Quarter:
    try:
        if not _QUARTER_SHAPE.fullmatch(text):
            raise InvalidQuarterError(text[:32], "expected YYYYQn")
        if not _QUARTER_RE.fullmatch(text):
            # The right shape with a quarter number outside the grammar (2024Q5): say which part is wrong.
            raise InvalidQuarterError(text, "quarter must be 1..4")
        return Quarter.parse(text)
    except InvalidQuarterError as exc:
        raise ApiError(
            400,
            "invalid_parameter",
            f"query parameter {name!r}: {exc.message}; write quarters as YYYYQn, e.g. 2024Q1",
        ) from None


def parse_quarter_bounds(start: str | None, end: str | None) -> tuple[Quarter | None, Quarter | None]:
    first = parse_quarter("from", start) if start is not None else None
    last = parse_quarter("to", end) if end is not None else None
    if first is not None and last is not None and last < first:
        raise ApiError(400, "invalid_parameter", f"'from' ({first}) is after 'to' ({last}); give from ≤ to")
    return first, last


def path_quarter(year: int, quarter: int) -> Quarter:
    try:
        return Quarter(year, quarter)
    except InvalidQuarterError as exc:
        raise ApiError(400, "invalid_parameter", f"{exc.message}; years 1800..2200, quarters 1..4") from None


def clean_text(name: str, value: str | None, *, max_length: int = 128) -> str | None:
    """Free-text filters: bounded length, no control characters (PostgreSQL rejects NUL in text)."""
    if value is None:
        return None
    if len(value) > max_length or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ApiError(
            400,
            "invalid_parameter",
            f"query parameter {name!r}: at most {max_length} printable characters, no control characters",
        )
    return value
