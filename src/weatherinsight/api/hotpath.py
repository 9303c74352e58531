"""The API's hot path: ``GET /v1/features/{product}?station_id=N`` answered from memory, without FastAPI's
per-request parameter machinery.

Why it exists: resolving the route's nine declared query parameters costs FastAPI ≈ 0.3 ms per request (a cProfile
of the single-station route: about half of its in-process time), more than everything else a cached
single-station answer needs. This pure ASGI middleware recognises that one hottest request shape — exactly one
``station_id``, optionally ``from``/``to``/``features``/``min_coverage``/``limit``/``format`` — checks the values
against the same rules the route declares (strictly: anything it is unsure about is not its business), and answers
only when

* the station's rows are already in the published-data cache and the published versions are fresh
  (``PublishedCache.peek``: this path never touches the database), and
* no API-key work needs the database (keys off, or the key is in the key cache, active and within its rate limit).

It then calls the route's own ``station_features``, so its answer is the route's answer byte for byte (tested by
comparing both on the same requests). Everything else — other shapes, cursors, HEAD, doubtful values, a cache miss,
an uncached key, an exhausted rate limit — passes to FastAPI unchanged, which answers or gives the documented error
(and fills the caches for the next request).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from weatherinsight.api.deps import (
    DEFAULT_PAGE,
    FEATURES_PATTERN,
    MAX_PAGE,
    STATION_ID_MAX,
    ApiState,
    key_limit,
)
from weatherinsight.api.errors import ApiError
from weatherinsight.api.formats import OutputFormat, negotiate
from weatherinsight.api.ratelimit import client_identity
from weatherinsight.api.routes.features import select_columns, station_features
from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.errors import WeatherInsightError
from weatherinsight.quarters import QUARTER_PATTERN, Quarter

_PARAMETERS = frozenset({"station_id", "from", "to", "features", "min_coverage", "limit", "format"})
_DIGITS = re.compile(r"[0-9]{1,6}")
_SHARE = re.compile(r"[01](?:\.[0-9]{1,15})?")
#: The one quarter grammar, compiled once for the hot path.
_QUARTER_RE = re.compile(QUARTER_PATTERN)
_FEATURES = re.compile(FEATURES_PATTERN.strip("^$"))
#: The route's ``features`` parameter is declared with max_length=2000.
_FEATURES_MAX = 2000


class _NotMine(Exception):
    """This request is for FastAPI."""


class HotPath:
    def __init__(self, app: ASGIApp, state: ApiState, prefix: str, route: Any) -> None:
        self.app = app
        self.state = state
        self.route = route  # the FastAPI route this path stands in for: request metrics use its template
        self.features = f"{prefix}/features/"

    def _product(self, path: str) -> str | None:
        """The product of a ``/features/{product}`` path, if registered now (a product registered or dropped
        after the app was built counts as the route sees it)."""
        if not path.startswith(self.features):
            return None
        name = path[len(self.features) :]
        return name if name in PRODUCTS else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            product = self._product(scope["path"])
            if product is not None:
                response = self._answer(Request(scope), product)
                if response is not None:
                    scope["route"] = self.route
                    self.state.hot_path_served += 1
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    def _answer(self, request: Request, product: str) -> Any:
        """The route's response, or None when FastAPI should handle this request."""
        state = self.state
        try:
            station, first, last, features, min_coverage, limit, fmt = _parse(request)
        except _NotMine:
            return None
        cached = state.published.peek(product, station)
        if cached is None or not self._key_allows(request):
            return None
        try:
            columns = select_columns(product, features)
        except ApiError:
            return None
        return station_features(
            request,
            state,
            product,
            [station],
            first,
            last,
            columns,
            min_coverage,
            limit,
            None,
            negotiate(request, fmt),
            cached=cached,
        )

    def _key_allows(self, request: Request) -> bool:
        """The route's limits, counted the same way: keys off without an anonymous limit; keys off and the
        client address within its limit; or a cached active key within its limit. An allowed request is
        counted (it is served here); a refused one goes to FastAPI, whose dependency answers 429."""
        state = self.state
        limit = state.settings.api_rate_limit_per_minute
        if not state.settings.api_keys_required and limit is None:
            return True
        if state.limiter.shared:
            return False  # counting is a Redis round trip: the route does it off the event loop
        if not state.settings.api_keys_required and limit is not None:
            host = request.client.host if request.client else None
            return state.limiter.acquire(client_identity(host), limit) == 0.0
        secret = request.headers.get("x-api-key")
        record = state.cached_key(secret) if secret else None
        if record is None or not record.active:
            return False
        return state.limiter.acquire(f"key:{record.id}", key_limit(state, record)) == 0.0


def _parse(
    request: Request,
) -> tuple[int, Quarter | None, Quarter | None, str | None, float | None, int, OutputFormat | None]:
    """The hot path's parameters; ``_NotMine`` for any shape or value it leaves to FastAPI."""
    station: int | None = None
    values: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key == "station_id":
            if station is not None or not _DIGITS.fullmatch(value):
                raise _NotMine
            station = int(value)
            if not 1 <= station <= STATION_ID_MAX:
                raise _NotMine
        elif key in _PARAMETERS and key not in values:
            values[key] = value
        else:
            raise _NotMine
    if station is None:
        raise _NotMine
    first = _quarter(values.get("from"))
    last = _quarter(values.get("to"))
    if first is not None and last is not None and last < first:
        raise _NotMine
    features = values.get("features")
    if features is not None and (len(features) > _FEATURES_MAX or not _FEATURES.fullmatch(features)):
        raise _NotMine
    min_coverage: float | None = None
    if "min_coverage" in values:
        if not _SHARE.fullmatch(values["min_coverage"]):
            raise _NotMine
        min_coverage = float(values["min_coverage"])
        if min_coverage > 1:
            raise _NotMine
    limit = DEFAULT_PAGE if "limit" not in values else _limit(values["limit"])
    fmt = values.get("format")
    if fmt is not None and fmt not in OutputFormat.__members__:
        raise _NotMine
    return station, first, last, features, min_coverage, limit, OutputFormat(fmt) if fmt else None


def _quarter(text: str | None) -> Quarter | None:
    if text is None:
        return None
    if not _QUARTER_RE.fullmatch(text):
        raise _NotMine
    try:
        return Quarter.parse(text)
    except WeatherInsightError:
        raise _NotMine from None


def _limit(text: str) -> int:
    if not _DIGITS.fullmatch(text) or not 1 <= int(text) <= MAX_PAGE:
        raise _NotMine
    return int(text)
