"""API error responses: every failure is a JSON ``ErrorBody`` with a code, a clear message and the attribution.

Bad parameters are 4xx naming the parameter, what was wrong and what is allowed; an unreachable database is 503
(``database_unavailable``, with Retry-After), a database that was never migrated is 503 ``schema_missing`` (no
Retry-After: only the operator's ``weatherinsight db upgrade`` helps); nothing a client sends should produce a 500
(schemathesis checks that in tests/api).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from weatherinsight import DWD_ATTRIBUTION
from weatherinsight.errors import DatabaseUnavailableError, WeatherInsightError
from weatherinsight.logs import get_logger
from weatherinsight.warehouse.db import missing_schema

log = get_logger(__name__)


class ApiError(Exception):
    """An error answered with ``status`` and an ``ErrorBody``; ``headers`` go on the response (Retry-After …)."""

    def __init__(
        self, status: int, error: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.headers = headers or {}


def error_body(error: str, message: str, detail: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": error, "message": message, "detail": detail, "attribution": DWD_ATTRIBUTION}


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def _describe(err: dict[str, Any]) -> str:
    loc = [str(p) for p in err.get("loc", ())]
    where = f"{loc[0]} parameter {'.'.join(loc[1:])!r}" if len(loc) > 1 else ".".join(loc) or "request"
    return f"{where}: {err.get('msg', 'invalid value')}"


async def _on_api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _json(exc.status, error_body(exc.error, exc.message), exc.headers)


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    detail = [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in errors
    ]
    message = "; ".join(_describe(e) for e in errors) or "invalid request"
    return _json(422, error_body("invalid_parameter", message, detail))


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404 and message == "Not Found":
        message = "no such endpoint; see /docs for the API under /v1"
    return _json(
        exc.status_code, error_body(codes.get(exc.status_code, "error"), message), dict(exc.headers or {})
    )


async def _on_domain_error(_request: Request, exc: Exception) -> JSONResponse:
    # Typed errors from the package (bad quarter, unknown product) are the client's input problem here.
    assert isinstance(exc, WeatherInsightError)
    return _json(400, error_body("invalid_parameter", str(exc)))


async def _schema_missing(request: Request, exc: Exception) -> JSONResponse | None:
    """The ``schema_missing`` answer when a statement failed because the database was never migrated, else None.

    Only the failed statement's error leads here, so healthy requests never pay for the revision check. The
    database's URL goes to the log, not to the client."""
    if not isinstance(exc, DBAPIError) or isinstance(exc, InterfaceError):
        return None
    try:
        missing = await run_in_threadpool(missing_schema, request.app.state.api.engine)
    except Exception:  # the check itself failed (server gone): the original error's answer stands
        return None
    if missing is None:
        return None
    log.error("database has no schema", error=str(missing))
    return _json(
        503,
        error_body(
            "schema_missing",
            "the curated database has no WeatherInsight schema yet; the operator must run `weatherinsight db upgrade`",
        ),
    )


async def _on_programming_error(request: Request, exc: Exception) -> JSONResponse:
    # PostgreSQL reports a missing table as a ProgrammingError; any other one is a bug and stays a 500.
    answer = await _schema_missing(request, exc)
    if answer is None:
        raise exc
    return answer


async def _on_db_error(request: Request, exc: Exception) -> JSONResponse:
    answer = await _schema_missing(request, exc)  # SQLite reports a missing table as an OperationalError
    if answer is not None:
        return answer
    log.error("database error", error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return _json(
        503,
        error_body("database_unavailable", "the curated database is not reachable; retry later"),
        {"Retry-After": "5"},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(WeatherInsightError, _on_domain_error)
    app.add_exception_handler(OperationalError, _on_db_error)
    app.add_exception_handler(DatabaseUnavailableError, _on_db_error)  # a failed connect (warehouse.db)
    app.add_exception_handler(InterfaceError, _on_db_error)
    app.add_exception_handler(ProgrammingError, _on_programming_error)
    app.add_exception_handler(PoolTimeoutError, _on_db_error)  # every pooled connection busy for 30 s
