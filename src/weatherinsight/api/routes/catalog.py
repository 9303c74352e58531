"""``/v1/catalog``: every feature with product, variable, kind, unit, definition and standard (``feature_catalog``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, select

from weatherinsight import DWD_ATTRIBUTION
from weatherinsight.api.deps import ApiState, api_state, conditional, make_etag
from weatherinsight.api.routes._common import ERRORS, NOT_MODIFIED, reject_unknown_query
from weatherinsight.api.routes.params import ProductName
from weatherinsight.api.schemas import CatalogResponse
from weatherinsight.features.catalog import catalog_index
from weatherinsight.warehouse.tables import feature_catalog

router = APIRouter(tags=["catalog"], dependencies=[Depends(reject_unknown_query)])


def catalog_rows(conn: Connection, product: str | None = None) -> list[dict[str, Any]]:
    """The ``feature_catalog`` rows (of ``product`` when given) in catalog order — product by product, as
    defined; features unknown to this build last by name — each with its served ``precision`` (None for a
    feature unknown to this build). Read from the catalog as registered now, so run-time products count."""
    stmt = select(feature_catalog)
    if product is not None:
        stmt = stmt.where(feature_catalog.c.product == product)
    rows = [dict(r._mapping) for r in conn.execute(stmt)]
    index = catalog_index()
    rows.sort(key=lambda r: (index[r["name"]][0] if r["name"] in index else len(index), r["name"]))
    for r in rows:  # decimals served (features rounded on output)
        r["precision"] = index[r["name"]][1].precision if r["name"] in index else None
    return rows


@router.get(
    "/catalog",
    response_model=CatalogResponse,
    responses={**NOT_MODIFIED, **ERRORS},
    summary="The feature catalog",
)
def get_catalog(
    request: Request,
    state: Annotated[ApiState, Depends(api_state)],
    product: Annotated[ProductName | None, Query(description="only this product's features")] = None,
) -> Any:
    with state.engine.connect() as conn:
        rows = catalog_rows(conn, product)
    body = {"attribution": DWD_ATTRIBUTION, "count": len(rows), "data": rows}
    hit, headers = conditional(request, state, make_etag("catalog", rows), max_age=3600)
    if hit:
        return Response(status_code=304, headers=headers)
    return JSONResponse(body, headers=headers)
