"""``/v1/quality/{year}/{quarter}``: stored quality-check results of a quarter (latest run unless run_id= is given)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import Integer, and_, cast, func, select

from weatherinsight import DWD_ATTRIBUTION
from weatherinsight.api.deps import (
    DEFAULT_PAGE,
    MAX_PAGE,
    TEXT_SPEC_PATTERN,
    ApiState,
    api_state,
    cache_headers,
    clean_text,
    path_quarter,
)
from weatherinsight.api.formats import decode_cursor, encode_cursor, next_link, plain
from weatherinsight.api.routes._common import ERRORS, reject_unknown_query
from weatherinsight.api.routes.params import Cursor, ProductName
from weatherinsight.api.schemas import QualityResponse
from weatherinsight.warehouse.tables import quality_check_results

router = APIRouter(tags=["quality"], dependencies=[Depends(reject_unknown_query)])


@router.get(
    "/quality/{year}/{quarter}",
    response_model=QualityResponse,
    responses=ERRORS,
    summary="Quality-check results",
)
def get_quality(
    request: Request,
    year: Annotated[int, Field(ge=1800, le=2200)],
    quarter: Annotated[int, Field(ge=1, le=4)],
    state: Annotated[ApiState, Depends(api_state)],
    product: Annotated[ProductName | None, Query()] = None,
    severity: Annotated[Literal["fatal", "warning"] | None, Query()] = None,
    passed: Annotated[bool | None, Query(description="only passed (true) or failed (false) checks")] = None,
    run_id: Annotated[
        str | None,
        Query(
            max_length=64,
            json_schema_extra={"pattern": TEXT_SPEC_PATTERN},
            description="a specific run; default the latest",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> Any:
    q = path_quarter(year, quarter)
    run = clean_text("run_id", run_id, max_length=64)
    qc = quality_check_results.c
    where = [qc.year == q.year, qc.quarter == q.quarter]
    with state.engine.connect() as conn:
        if run is None:
            run = conn.execute(
                select(qc.run_id).where(*where).order_by(qc.checked_at.desc(), qc.id.desc()).limit(1)
            ).scalar_one_or_none()
        where.append(qc.run_id == run)
        if product is not None:
            where.append(qc.product == product)
        summary = conn.execute(
            select(
                func.count(),
                func.sum(cast(qc.passed, Integer)),
            ).where(*where)
        ).one()
        failed: dict[str, int] = dict(
            conn.execute(
                select(qc.severity, func.count()).where(*where, qc.passed.is_(False)).group_by(qc.severity)
            ).all()
        )
        stmt = select(quality_check_results).where(and_(*where))
        if severity is not None:
            stmt = stmt.where(qc.severity == severity)
        if passed is not None:
            stmt = stmt.where(qc.passed.is_(passed))
        if cursor is not None:
            stmt = stmt.where(qc.id > decode_cursor(cursor, 1)[0])
        rows = [dict(r._mapping) for r in conn.execute(stmt.order_by(qc.id).limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = next_link(request, encode_cursor([rows[-1]["id"]]) if more else None)
    body = {
        "attribution": DWD_ATTRIBUTION,
        "quarter": str(q),
        "run_id": run,
        "summary": {
            "checks": int(summary[0] or 0),
            "passed": int(summary[1] or 0),
            "fatal_failed": int(failed.get("fatal", 0)),
            "warnings_failed": int(failed.get("warning", 0)),
        },
        "count": len(rows),
        "next": nxt,
        "data": [{k: plain(v) for k, v in r.items()} for r in rows],
    }
    return JSONResponse(body, headers=cache_headers(state, None, 60))
