"""The FastAPI application: routers under ``/v1``, errors, CORS, attribution header, request metrics.

``create_app(settings)`` builds an app on ``settings.database_url`` (read-only use of the curated database);
``weatherinsight api serve`` runs it with uvicorn (``app_factory`` for ``uvicorn --factory``).
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from weatherinsight import DWD_ATTRIBUTION, __version__
from weatherinsight.api.deps import ApiState, BodyCache, limit_anonymous, require_api_key
from weatherinsight.api.docs import install_docs
from weatherinsight.api.errors import install_error_handlers
from weatherinsight.api.explorer import mount_explorer
from weatherinsight.api.formats import ATTRIBUTION_HEADER
from weatherinsight.api.hotpath import HotPath
from weatherinsight.api.metrics import UNMATCHED, ApiMetrics
from weatherinsight.api.published import PublishedCache
from weatherinsight.api.ratelimit import RateLimiter
from weatherinsight.api.routes import catalog, datasets, features, health, quality, station_features, stations
from weatherinsight.settings import Settings, load_settings
from weatherinsight.warehouse.db import get_engine

API_PREFIX = "/v1"


class ObserveMiddleware:
    """Pure ASGI middleware: adds the attribution header and records count + latency per route template."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Data-Attribution", ATTRIBUTION_HEADER)
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or UNMATCHED
            self.metrics.observe(scope.get("method", "GET"), path, status, time.perf_counter() - start)


def _cors_origins(settings: Settings) -> list[str]:
    return [o.strip() for o in settings.api_cors_origins.split(",") if o.strip()]


def create_app(
    settings: Settings, *, key_cache_seconds: float = 5.0, body_cache_mb: int | None = None
) -> FastAPI:
    """Build the API on ``settings.database_url``. The schema must exist (``weatherinsight api serve`` migrates first).

    ``body_cache_mb`` bounds the cache of finished response bodies keyed by ETag (0 turns it off).
    """
    cache_mb = settings.api_body_cache_mb if body_cache_mb is None else body_cache_mb
    metrics = ApiMetrics()
    app = FastAPI(
        title="WeatherInsight API",
        version=__version__,
        description=(
            "Quarterly climate features per DWD station, computed from DWD hourly observations.\n\n"
            f"{DWD_ATTRIBUTION}\n\n"
            "Formats: JSON (default), CSV and Parquet via `format=` or `Accept`. Pages: follow `next`. "
            "Errors: a JSON body with `error` and `message`."
        ),
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served by install_docs from packaged assets (no CDN)
        redoc_url=None,
    )
    engine = get_engine(settings.database_url)
    state = app.state.api = ApiState(
        settings=settings,
        engine=engine,
        metrics=metrics,
        published=PublishedCache(
            engine,
            refresh_seconds=settings.api_data_refresh_seconds,
            max_rows=settings.api_station_cache_rows,
        ),
        # Counts are per curated database: deployments sharing one Redis stay apart.
        limiter=RateLimiter(settings.api_redis_url, namespace=settings.database_url),
        key_cache_seconds=key_cache_seconds,
        bodies=BodyCache(max_bytes=cache_mb << 20, max_entries=4096 if cache_mb > 0 else 0),
    )
    metrics.watch_caches(lambda: state.hot_path_served, lambda: state.published.rows)
    install_error_handlers(app)
    install_docs(app, f"{API_PREFIX}/openapi.json")
    # The key dependency (and so the OpenAPI security scheme) exists only when keys are required, so the
    # published schema tells clients exactly what this server expects.
    keyed: list[Any] = [Depends(require_api_key)] if settings.api_keys_required else []
    if not settings.api_keys_required and settings.api_rate_limit_per_minute is not None:
        keyed.append(Depends(limit_anonymous))  # anonymous clients: the limit per client address
    app.include_router(health.router, prefix=API_PREFIX)
    for module in (stations, catalog, features, station_features, datasets, quality):
        app.include_router(module.router, prefix=API_PREFIX, dependencies=keyed)
    # The web explorer (issue #16): static pages at / that read everything from the /v1 routes above.
    mount_explorer(app, settings, API_PREFIX)
    if settings.api_hot_path:
        # Innermost of our middleware, so CORS headers, the attribution header and request metrics apply to its
        # answers exactly as to the route's.
        features_route = next(
            r for r in app.routes if getattr(r, "path", None) == f"{API_PREFIX}/features/{{product}}"
        )
        app.add_middleware(HotPath, state=state, prefix=API_PREFIX, route=features_route)
    origins = _cors_origins(settings)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "HEAD", "OPTIONS"],
            allow_headers=["X-API-Key", "If-None-Match", "Accept"],
            expose_headers=["ETag", "Link", "Retry-After", "X-Data-Attribution", "X-Dataset-Version"],
            max_age=600,
        )
    app.add_middleware(ObserveMiddleware, metrics=metrics)
    return app


def app_factory() -> FastAPI:
    """For ``uvicorn --factory weatherinsight.api.app:app_factory``: settings from the environment
    (``WEATHERINSIGHT_API_BODY_CACHE_MB`` bounds the response-body cache; 0 = off)."""
    settings = load_settings()
    return create_app(settings)
