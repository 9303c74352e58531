"""``/v1/datasets``: dataset versions (raw / staged / curated) with status, parents, row counts and timestamps."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select, tuple_

from weatherinsight import DWD_ATTRIBUTION
from weatherinsight.api.deps import (
    DEFAULT_PAGE,
    MAX_PAGE,
    ApiState,
    api_state,
    cache_headers,
    parse_quarter_bounds,
)
from weatherinsight.api.formats import decode_cursor, encode_cursor, next_link, plain
from weatherinsight.api.routes._common import ERRORS, reject_unknown_query
from weatherinsight.api.routes.params import Cursor, ProductName, QuarterFrom, QuarterTo
from weatherinsight.api.schemas import DatasetPage
from weatherinsight.warehouse.lineage import DatasetVersion
from weatherinsight.warehouse.tables import dataset_versions

router = APIRouter(tags=["datasets"], dependencies=[Depends(reject_unknown_query)])


def version_json(v: DatasetVersion) -> dict[str, Any]:
    return {
        "id": v.id,
        "version_name": v.version_name,
        "version_number": v.version_number,
        "kind": v.kind,
        "product": v.product,
        "year": v.year,
        "quarter": v.quarter,
        "quarter_label": v.quarter_label,
        "period_kind": v.period_kind,
        "status": v.status,
        "row_count": v.row_count,
        "parent_versions": list(v.parent_versions),
        "input_fingerprint": v.input_fingerprint,
        "created_at": plain(v.created_at),
        "updated_at": plain(v.updated_at),
        "error": v.error,
    }


@router.get("/datasets", response_model=DatasetPage, responses=ERRORS, summary="Dataset versions and lineage")
def list_datasets(
    request: Request,
    state: Annotated[ApiState, Depends(api_state)],
    kind: Annotated[Literal["raw", "staged", "curated", "normal"] | None, Query()] = None,
    product: Annotated[ProductName | None, Query()] = None,
    status: Annotated[Literal["PENDING", "AVAILABLE", "FAILED", "SUPERSEDED"] | None, Query()] = None,
    from_: QuarterFrom = None,
    to: QuarterTo = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> Any:
    """Ordered by id (creation order); each version lists the versions it was built from (``parent_versions``)."""
    first, last = parse_quarter_bounds(from_, to)
    dv = dataset_versions.c
    stmt = select(dataset_versions)
    if kind is not None:
        stmt = stmt.where(dv.kind == kind)
    if product is not None:
        stmt = stmt.where(dv.product == product)
    if status is not None:
        stmt = stmt.where(dv.status == status)
    if first is not None:
        stmt = stmt.where(tuple_(dv.year, dv.quarter) >= tuple_(first.year, first.quarter))
    if last is not None:
        stmt = stmt.where(tuple_(dv.year, dv.quarter) <= tuple_(last.year, last.quarter))
    if cursor is not None:
        stmt = stmt.where(dv.id > decode_cursor(cursor, 1)[0])
    with state.engine.connect() as conn:
        versions = [DatasetVersion.from_row(r) for r in conn.execute(stmt.order_by(dv.id).limit(limit + 1))]
    more = len(versions) > limit
    versions = versions[:limit]
    nxt = next_link(request, encode_cursor([versions[-1].id]) if more else None)
    body = {
        "attribution": DWD_ATTRIBUTION,
        "count": len(versions),
        "next": nxt,
        "data": [version_json(v) for v in versions],
    }
    return JSONResponse(body, headers=cache_headers(state, None, 0))
