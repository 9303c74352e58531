"""``/v1/catalog``: every feature with product, variable, kind, unit, definition and standard (``feature_catalog``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from weatherinsight import DWD_ATTRIBUTION
from weatherinsight.api.deps import ApiState, api_state, conditional, make_etag
from weatherinsight.api.routes._common import ERRORS, NOT_MODIFIED, reject_unknown_query
from weatherinsight.api.routes.params import ProductName
from weatherinsight.api.schemas import CatalogResponse
from weatherinsight.features.catalog import CATALOG
from weatherinsight.warehouse.tables import feature_catalog

router = APIRouter(tags=["catalog"], dependencies=[Depends(reject_unknown_query)])

_ORDER = {f.name: i for i, f in enumerate(CATALOG)}
_PRECISION = {f.name: f.precision for f in CATALOG}


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
    fc = feature_catalog.c
    stmt = select(feature_catalog)
    if product is not None:
        stmt = stmt.where(fc.product == product.value)
    with state.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    # Catalog order (product by product, as defined); features unknown to this build go last by name.
    rows.sort(key=lambda r: (_ORDER.get(r["name"], len(_ORDER)), r["name"]))
    for r in rows:  # decimals served (features rounded on output); None for a feature unknown to this build
        r["precision"] = _PRECISION.get(r["name"])
    body = {"attribution": DWD_ATTRIBUTION, "count": len(rows), "data": rows}
    hit, headers = conditional(request, state, make_etag("catalog", rows), max_age=3600)
    if hit:
        return Response(status_code=304, headers=headers)
    return JSONResponse(body, headers=headers)
