"""OpenAPI response declarations and helpers shared by the routers."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from fastapi import Request
from fastapi.dependencies.utils import get_flat_dependant
from sqlalchemy import Boolean, Date, DateTime, Float, Integer, String, Text
from sqlalchemy.sql.schema import Column

from weatherinsight.api.errors import ApiError
from weatherinsight.api.formats import PARQUET_MEDIA_TYPE
from weatherinsight.api.schemas import ErrorBody


def _err(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


#: Error answers every data route can give.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: _err("Bad parameter (malformed quarter, from after to, unknown feature, bad cursor …)"),
    401: _err("API key required but missing"),
    403: _err("API key unknown or revoked"),
    404: _err("Unknown resource (product, station, quarter without published data)"),
    422: _err("A parameter has the wrong type or is out of range, or names no registered product"),
    429: _err("Per-key rate limit exceeded; see Retry-After"),
    503: _err(
        "The curated database is not reachable (database_unavailable, see Retry-After) or was never migrated "
        "(schema_missing)"
    ),
}

NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified (If-None-Match matched the ETag)"}
}


def table_responses(model: type[Any]) -> dict[int | str, dict[str, Any]]:
    """200 with JSON (the model), CSV or Parquet, plus 304 and the errors."""
    return {
        200: {
            "model": model,
            "description": "JSON by default; CSV or Parquet with format= or Accept",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                PARQUET_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **NOT_MODIFIED,
        **ERRORS,
    }


def arrow_type(column: Column[Any]) -> pa.DataType:
    """The Arrow type of a table column, for Parquet output."""
    t = column.type
    if isinstance(t, Boolean):
        return pa.bool_()
    if isinstance(t, Integer):
        return pa.int64()
    if isinstance(t, Float):
        return pa.float64()
    if isinstance(t, DateTime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(t, Date):
        return pa.date32()
    if isinstance(t, String | Text):
        return pa.string()
    return pa.string()


#: Allowed query parameter names per route (routes are not hashable: keyed by id; routes live as long as the app).
_ALLOWED: dict[int, tuple[str, ...]] = {}


def _allowed(route: Any) -> tuple[str, ...]:
    allowed = _ALLOWED.get(id(route))
    if allowed is None:
        dependant = get_flat_dependant(route.dependant)
        allowed = _ALLOWED[id(route)] = tuple(sorted({p.alias for p in dependant.query_params}))
    return allowed


def reject_unknown_query(request: Request) -> None:
    """Router dependency: a query parameter the route does not declare is a 400 naming the allowed ones.

    A misspelt filter (``?nmae=Bad``) silently ignored would answer every row as if it had matched."""
    route = request.scope.get("route")
    if route is None:
        return
    allowed = _allowed(route)
    unknown = sorted({k for k in request.query_params if k not in allowed})
    if unknown:
        raise ApiError(
            400,
            "unknown_parameter",
            f"unknown query parameter(s) {', '.join(repr(u[:64]) for u in unknown[:5])}; "
            f"allowed: {', '.join(allowed) if allowed else 'none'}",
        )
