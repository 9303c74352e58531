"""``/v1/features``: published curated features per product — by station(s) and quarter range, or per quarter.

Only rows of the AVAILABLE curated version of each (product, quarter) are served (``lineage.published_from``),
so a publish in progress is never half visible. Order is (year, quarter, station_id), paged by keyset cursor.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field
from sqlalchemy import Connection, Select, select, tuple_

from weatherinsight import DWD_ATTRIBUTION
from weatherinsight.api.deps import (
    CURSOR_PATTERN,
    DEFAULT_PAGE,
    FEATURES_PATTERN,
    MAX_PAGE,
    MAX_STATION_IDS,
    QUARTER_PATTERN,
    STATION_ID_MAX,
    ApiState,
    api_state,
    conditional,
    make_etag,
    parse_quarter_bounds,
    path_quarter,
    require_pattern,
)
from weatherinsight.api.errors import ApiError
from weatherinsight.api.formats import (
    OutputFormat,
    decode_cursor,
    encode_cursor,
    negotiate,
    next_link,
    render_rows,
)
from weatherinsight.api.routes._common import arrow_type, table_responses
from weatherinsight.api.schemas import FeaturePage
from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.features.catalog import COVERAGE_COLUMNS, features_for
from weatherinsight.quarters import Quarter
from weatherinsight.warehouse import lineage
from weatherinsight.warehouse.tables import CURATED_KEY_COLUMNS, curated_table

router = APIRouter(prefix="/features", tags=["features"])

#: Product path values come from the registry: a new product is served without a code change.
ProductName = Enum("ProductName", {name: name for name in PRODUCTS}, type=str)  # type: ignore[misc]

_FIXED = (*CURATED_KEY_COLUMNS, *(c for c, _, _ in COVERAGE_COLUMNS), "computed_at")

StationIds = Annotated[
    list[Annotated[int, Field(ge=1, le=STATION_ID_MAX)]] | None,
    Query(
        max_length=MAX_STATION_IDS,
        description=f"DWD station id; repeat for several (at most {MAX_STATION_IDS})",
        examples=[[44]],
    ),
]
FeatureNames = Annotated[
    str | None,
    Query(
        max_length=2000,
        json_schema_extra={"pattern": FEATURES_PATTERN},
        description="comma-separated subset of the product's features (see /v1/catalog); default all",
        examples=["tg_mean,frost_days"],
    ),
]
MinCoverage = Annotated[
    float | None,
    Query(ge=0, le=1, allow_inf_nan=False, description="only rows with coverage ≥ this share (0–1)"),
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, at most {MAX_PAGE}")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=200,
        json_schema_extra={"pattern": CURSOR_PATTERN},
        description="opaque cursor from a previous page's next link",
    ),
]
QuarterFrom = Annotated[
    str | None,
    Query(
        alias="from",
        max_length=16,
        json_schema_extra={"pattern": QUARTER_PATTERN},
        description="first quarter, e.g. 2020Q1",
    ),
]
QuarterTo = Annotated[
    str | None,
    Query(
        max_length=16,
        json_schema_extra={"pattern": QUARTER_PATTERN},
        description="last quarter (inclusive), e.g. 2024Q4",
    ),
]
Format = Annotated[OutputFormat | None, Query(description="json (default), csv or parquet; or use Accept")]


def _columns(product: str, features: str | None) -> list[str]:
    names = [f.name for f in features_for(product)]
    if features is None:
        return [*_FIXED, *names]
    require_pattern("features", features, FEATURES_PATTERN, "name,name,… (see /v1/catalog)")
    wanted = features.split(",")
    unknown = [f for f in wanted if f not in names]
    if unknown or not wanted:
        what = (
            f"unknown feature(s) {', '.join(repr(u[:64]) for u in unknown[:5])}"
            if unknown
            else "no feature named"
        )
        raise ApiError(
            400,
            "invalid_parameter",
            f"query parameter 'features': {what} for {product}; allowed: {', '.join(names)}",
        )
    return [*_FIXED, *dict.fromkeys(wanted)]


def _available_version(conn: Connection, product: str, q: Quarter) -> str:
    """The AVAILABLE curated version name of (product, quarter); 404 naming the published quarters if none."""
    version = lineage.find_available(conn, "curated", product, q)
    if version is not None:
        return version.version_name
    published = [str(p) for p in lineage.published_quarters(conn, product)]
    raise ApiError(
        404,
        "not_published",
        f"no published curated version of {product} for {q}; "
        + (f"published quarters: {', '.join(published[-12:])}" if published else "nothing is published yet"),
    )


def _rows_query(product: str, columns: list[str], min_coverage: float | None) -> tuple[Select[Any], Any]:
    table = curated_table(product)
    stmt = select(*(table.c[c] for c in columns)).select_from(lineage.published_from(product))
    if min_coverage is not None:
        stmt = stmt.where(table.c.coverage >= min_coverage)
    return stmt, table


def _respond(
    request: Request,
    state: ApiState,
    fmt: OutputFormat,
    product: str,
    columns: list[str],
    rows: list[Any],
    limit: int,
    cursor_of: Any,
    headers: dict[str, str],
) -> Response:
    table = curated_table(product)
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = next_link(request, encode_cursor(cursor_of(rows[-1])) if more else None)
    return render_rows(
        fmt,
        meta={"attribution": DWD_ATTRIBUTION, "product": product, "count": len(rows), "next": nxt},
        columns=columns,
        types=[arrow_type(table.c[c]) for c in columns],
        rows=rows,
        next_url=nxt,
        headers=headers,
        filename=f"{product}_features",
    )


@router.get(
    "/{product}",
    response_model=None,
    responses=table_responses(FeaturePage),
    summary="Features of one product by station and quarter range",
)
def get_features(
    request: Request,
    product: ProductName,
    state: Annotated[ApiState, Depends(api_state)],
    station_id: StationIds = None,
    from_: QuarterFrom = None,
    to: QuarterTo = None,
    features: FeatureNames = None,
    min_coverage: MinCoverage = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
    format: Format = None,
) -> Response:
    """Rows ordered by (year, quarter, station_id); every row has coverage, QN and version fields."""
    name = product.value
    fmt = negotiate(request, format)
    first, last = parse_quarter_bounds(from_, to)
    columns = _columns(name, features)
    after = decode_cursor(cursor, 3) if cursor is not None else None
    stmt, table = _rows_query(name, columns, min_coverage)
    if station_id:
        stmt = stmt.where(table.c.station_id.in_(sorted(set(station_id))))
    if first is not None:
        stmt = stmt.where(tuple_(table.c.year, table.c.quarter) >= tuple_(first.year, first.quarter))
    if last is not None:
        stmt = stmt.where(tuple_(table.c.year, table.c.quarter) <= tuple_(last.year, last.quarter))
    if after is not None:
        stmt = stmt.where(tuple_(table.c.year, table.c.quarter, table.c.station_id) > tuple_(*after))
    stmt = stmt.order_by(table.c.year, table.c.quarter, table.c.station_id).limit(limit + 1)
    with state.engine.connect() as conn:
        rows = list(conn.execute(stmt))
    # Versions are immutable (a new publish is a new version name), so the request plus the version of every
    # row served (and of the look-ahead row that decides "next") identifies the representation.
    etag = make_etag(
        "features",
        name,
        sorted(request.query_params.multi_items()),
        fmt.value,
        [(r.year, r.quarter, r.dataset_version) for r in rows],
    )
    hit, headers = conditional(request, state, etag)
    if hit:
        return Response(status_code=304, headers=headers)
    return _respond(
        request, state, fmt, name, columns, rows, limit, lambda r: (r.year, r.quarter, r.station_id), headers
    )


@router.get(
    "/{product}/{year}/{quarter}",
    response_model=None,
    responses=table_responses(FeaturePage),
    summary="All stations of one product and quarter",
)
def get_quarter(
    request: Request,
    product: ProductName,
    year: Annotated[int, Field(ge=1800, le=2200)],
    quarter: Annotated[int, Field(ge=1, le=4)],
    state: Annotated[ApiState, Depends(api_state)],
    features: FeatureNames = None,
    min_coverage: MinCoverage = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
    format: Format = None,
) -> Response:
    """The published version of (product, quarter), ordered by station_id; 404 when none is published."""
    name = product.value
    q = path_quarter(year, quarter)
    fmt = negotiate(request, format)
    columns = _columns(name, features)
    after = decode_cursor(cursor, 1) if cursor is not None else None
    stmt, table = _rows_query(name, columns, min_coverage)
    stmt = stmt.where(table.c.year == q.year, table.c.quarter == q.quarter)
    if after is not None:
        stmt = stmt.where(table.c.station_id > after[0])
    stmt = stmt.order_by(table.c.station_id).limit(limit + 1)
    with state.engine.connect() as conn:
        rows = list(conn.execute(stmt))
        # The rows name their (published) version; only an empty page needs to ask whether one exists.
        version = rows[0].dataset_version if rows else _available_version(conn, name, q)
    etag = make_etag("quarter", name, q, version, sorted(request.query_params.multi_items()), fmt.value)
    hit, headers = conditional(request, state, etag)
    if hit:
        return Response(status_code=304, headers=headers)
    headers["X-Dataset-Version"] = version
    return _respond(request, state, fmt, name, columns, rows, limit, lambda r: (r.station_id,), headers)
