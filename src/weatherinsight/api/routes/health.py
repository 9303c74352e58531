"""``/v1/health`` (database reachable, latest published quarter per product), ``/v1/ping`` and ``/v1/metrics``."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from weatherinsight import DWD_ATTRIBUTION, __version__
from weatherinsight.api.deps import ApiState, api_state
from weatherinsight.api.schemas import Health, Ping
from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.errors import DatabaseUnavailableError
from weatherinsight.warehouse import lineage
from weatherinsight.warehouse.db import missing_schema

router = APIRouter(tags=["service"])


@router.get("/health", response_model=Health, responses={503: {"model": Health}}, summary="Service health")
def health(state: Annotated[ApiState, Depends(api_state)]) -> Any:
    latest: dict[str, str | None] = dict.fromkeys(PRODUCTS)
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            for product in PRODUCTS:
                quarters = lineage.published_quarters(conn, product)
                latest[product] = str(quarters[-1]) if quarters else None
    except (SQLAlchemyError, DatabaseUnavailableError) as exc:
        body = {
            "status": "unavailable",
            "database": "schema_missing" if _never_migrated(state, exc) else "unreachable",
            "version": __version__,
            "latest_quarters": latest,
            "attribution": DWD_ATTRIBUTION,
        }
        return JSONResponse(body, status_code=503, headers={"Cache-Control": "no-store"})
    body = {
        "status": "ok",
        "database": "ok",
        "version": __version__,
        "latest_quarters": latest,
        "attribution": DWD_ATTRIBUTION,
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _never_migrated(state: ApiState, exc: Exception) -> bool:
    """Whether the failed read failed for want of the schema (``weatherinsight db upgrade`` not run)."""
    if not isinstance(exc, DBAPIError):
        return False
    try:
        return missing_schema(state.engine) is not None
    except (SQLAlchemyError, DatabaseUnavailableError):
        return False


@router.get("/ping", response_model=Ping, summary="Trivial liveness answer (no database)")
async def ping() -> Any:
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Prometheus text"}
    },
    summary="Prometheus metrics",
)
def metrics(state: Annotated[ApiState, Depends(api_state)]) -> Response:
    # Request metrics are still worth serving when the database is down; /health says why.
    with contextlib.suppress(SQLAlchemyError, DatabaseUnavailableError):
        state.metrics.refresh_freshness(state.engine)
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
