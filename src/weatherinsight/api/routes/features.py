"""``/v1/features``: published curated features per product — by station(s) and quarter range, or per quarter.

Only rows of the AVAILABLE curated version of each (product, quarter) are served (``lineage.published_from``),
so a publish in progress is never half visible. Order is (year, quarter, station_id), paged by keyset cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from weatherinsight import DWD_ATTRIBUTION
from weatherinsight.api.deps import (
    DEFAULT_PAGE,
    ApiState,
    api_state,
    conditional,
    make_etag,
    parse_quarter_bounds,
    path_quarter,
)
from weatherinsight.api.fields import fields_etag_part, round_rows
from weatherinsight.api.formats import (
    OutputFormat,
    decode_cursor,
    encode_cursor,
    negotiate,
    next_link,
    render_rows,
)
from weatherinsight.api.published import FIXED_COLUMNS, Row
from weatherinsight.api.routes._common import reject_unknown_query, table_responses
from weatherinsight.api.routes.anomaly_columns import base_years, normals_etag_part, with_anomalies
from weatherinsight.api.routes.feature_query import arrow_types as arrow_types
from weatherinsight.api.routes.feature_query import (
    available_version,
    key_positions,
    period_rows,
    projection,
    statement,
    with_period,
)
from weatherinsight.api.routes.feature_query import describe_columns as describe_columns
from weatherinsight.api.routes.feature_query import period_bounds as period_bounds
from weatherinsight.api.routes.feature_query import select_columns as select_columns
from weatherinsight.api.routes.params import (
    Anomalies,
    Cursor,
    FeatureNames,
    Format,
    IncludeStation,
    KeysetCursor,
    Limit,
    Metadata,
    MinCoverage,
    NormalsBase,
    PeriodKindQuery,
    ProductName,
    QuarterFrom,
    QuarterTo,
    StationIds,
)
from weatherinsight.api.routes.station_columns import (
    with_station,
)
from weatherinsight.api.schemas import FeaturePage
from weatherinsight.periods import PeriodKind
from weatherinsight.quarters import Quarter

router = APIRouter(prefix="/features", tags=["features"], dependencies=[Depends(reject_unknown_query)])

_FIXED = FIXED_COLUMNS
#: Position of ``coverage`` in a full cached row (the fixed columns come first).
_COVERAGE = FIXED_COLUMNS.index("coverage")


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
    csv_metadata: bool = False,
) -> Response:
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = next_link(request, encode_cursor(cursor_of(rows[-1])) if more else None)
    return render_rows(
        fmt,
        meta={"attribution": DWD_ATTRIBUTION, "product": product, "count": len(rows), "next": nxt},
        columns=columns,
        types=arrow_types(product, tuple(columns)),
        rows=round_rows(product, columns, rows),
        next_url=nxt,
        headers=headers,
        filename=f"{product}_features",
        fields=describe_columns(product, columns),
        csv_metadata=csv_metadata,
    )


@router.get(
    "/{product}",
    response_model=None,
    responses=table_responses(FeaturePage),
    summary="Features of one product by station and quarter range",
)
async def get_features(
    request: Request,
    product: Annotated[ProductName, Path(description="a product (see /v1/catalog)")],
    state: Annotated[ApiState, Depends(api_state)],
    station_id: StationIds = None,
    from_: QuarterFrom = None,
    to: QuarterTo = None,
    features: FeatureNames = None,
    min_coverage: MinCoverage = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: KeysetCursor = None,
    format: Format = None,
    metadata: Metadata = False,
    include_station: IncludeStation = False,
    period: PeriodKindQuery = "quarter",
    anomalies: Anomalies = False,
    normals_base: NormalsBase = None,
) -> Response:
    """Rows ordered by (year, quarter, station_id); every row has coverage, QN and version fields.

    Float features are rounded to their catalog ``precision``; units and definitions come in the JSON ``meta``
    (``fields``), the Parquet field metadata, or the CSV ``metadata=true`` variant."""
    args = (
        request,
        product,
        state,
        station_id,
        from_,
        to,
        features,
        min_coverage,
        limit,
        cursor,
        format,
        metadata,
        include_station,
        period,
        base_years(normals_base) if anomalies else None,
    )
    one = station_id and len(set(station_id)) == 1
    if one and not include_station and period == "quarter" and not anomalies:
        # One station: at most one row per published quarter, from the published-data cache (or one primary-key
        # read on a miss) — less time than the hand-off to the thread pool costs. Run it on the event loop.
        return _get_features(*args)
    return await run_in_threadpool(_get_features, *args)


def _get_features(
    request: Request,
    product: str,
    state: ApiState,
    station_id: list[int] | None,
    from_: str | None,
    to: str | None,
    features: str | None,
    min_coverage: float | None,
    limit: int,
    cursor: str | None,
    format: OutputFormat | None,
    metadata: bool = False,
    include_station: bool = False,
    period: PeriodKind = "quarter",
    anomalies: tuple[int, int] | None = None,
) -> Response:
    name = product
    fmt = negotiate(request, format)
    first, last = parse_quarter_bounds(from_, to)
    columns = select_columns(name, features)
    after = decode_cursor(cursor, 3) if cursor is not None else None
    if station_id and period == "quarter":
        return station_features(
            request,
            state,
            name,
            station_id,
            first,
            last,
            columns,
            min_coverage,
            limit,
            after,
            fmt,
            None,
            metadata,
            include_station,
            anomalies,
        )
    return _sql_features(
        request,
        state,
        name,
        period,
        station_id,
        first,
        last,
        columns,
        min_coverage,
        limit,
        after,
        fmt,
        metadata,
        include_station,
        anomalies,
    )


def _sql_features(
    request: Request,
    state: ApiState,
    product: str,
    kind: PeriodKind,
    station_ids: list[int] | None,
    first: Quarter | None,
    last: Quarter | None,
    columns: list[str],
    min_coverage: float | None,
    limit: int,
    after: list[int] | None,
    fmt: OutputFormat,
    csv_metadata: bool,
    include_station: bool,
    anomalies: tuple[int, int] | None = None,
) -> Response:
    """Rows from SQL: every station's quarters, or the month, season or year periods (``period=``) with their
    ``period`` label appended after the key columns' values (the published-data cache holds quarters only)."""
    with state.engine.connect() as conn:
        rows = period_rows(
            conn,
            product,
            kind,
            columns,
            first=first,
            last=last,
            station_ids=station_ids,
            min_coverage=min_coverage,
            after=after,
            limit=limit + 1,
        )
    labelled_columns, labelled = with_period(kind, columns, rows)
    return _page(
        request,
        state,
        product,
        fmt,
        labelled_columns,
        labelled,
        limit,
        csv_metadata,
        include_station,
        kind,
        anomalies,
    )


def station_features(
    request: Request,
    state: ApiState,
    product: str,
    station_ids: list[int],
    first: Quarter | None,
    last: Quarter | None,
    columns: list[str],
    min_coverage: float | None,
    limit: int,
    after: list[int] | None,
    fmt: OutputFormat,
    cached: Sequence[Row] | None = None,
    csv_metadata: bool = False,
    include_station: bool = False,
    anomalies: tuple[int, int] | None = None,
) -> Response:
    """Rows of the named stations from the process's published-data cache (``api.published``), filtered here.

    The same answer, byte for byte, as the SQL the cache replaces: rows of the AVAILABLE versions only, ordered by
    (year, quarter, station_id), ``from``/``to``/``min_coverage``/keyset applied, ``limit`` + 1 read to decide
    ``next``. ``cached`` is the hot path's already-looked-up single station.
    """
    rows = cached if cached is not None else state.published.rows_for(product, station_ids)
    low = (first.year, first.quarter) if first is not None else None
    high = (last.year, last.quarter) if last is not None else None
    key_after = tuple(after) if after is not None else None
    picked: list[Row] = []
    for r in rows:
        yq = (r[1], r[2])
        if low is not None and yq < low:
            continue
        if high is not None and yq > high:
            break  # rows are ordered by (year, quarter): nothing later can qualify
        if min_coverage is not None and (r[_COVERAGE] is None or r[_COVERAGE] < min_coverage):
            continue
        if key_after is not None and (r[1], r[2], r[0]) <= key_after:
            continue
        picked.append(r)
        if len(picked) > limit:
            break
    index = projection(product, tuple(columns))
    if index is not None:
        picked = [tuple(r[i] for i in index) for r in picked]
    return _page(
        request,
        state,
        product,
        fmt,
        columns,
        picked,
        limit,
        csv_metadata,
        include_station,
        anomalies=anomalies,
    )


def _page(
    request: Request,
    state: ApiState,
    product: str,
    fmt: OutputFormat,
    columns: list[str],
    rows: list[Row],
    limit: int,
    csv_metadata: bool = False,
    include_station: bool = False,
    kind: PeriodKind = "quarter",
    anomalies: tuple[int, int] | None = None,
) -> Response:
    """Answer one page of ``/features/{product}`` rows (ordered by year, quarter, station_id; ``limit`` + 1 given);
    ``anomalies`` (base years) appends the anomaly columns (``anomaly_columns``)."""
    s_i, y_i, q_i, v_i = key_positions(tuple(columns))
    normals = None
    if anomalies is not None:  # the normals version served identifies the answer too
        with state.engine.connect() as conn:
            normals = normals_etag_part(conn, product, kind, anomalies)
    # Versions are immutable (a new publish is a new version name), so the request plus the version of every
    # row served (and of the look-ahead row that decides "next") identifies the representation.
    etag = make_etag(
        "features",
        product,
        fields_etag_part(product),
        sorted(request.query_params.multi_items()),
        fmt.value,
        [(r[y_i], r[q_i], r[v_i]) for r in rows],
        normals,
    )
    hit, headers = conditional(request, state, etag)
    if hit:
        return Response(status_code=304, headers=headers)
    url = str(request.url)
    cached = state.bodies.get(etag, url)
    if cached is not None:
        return cached
    if include_station:  # appended after the key columns, so the cursor positions stay as computed above
        with state.engine.connect() as conn:
            columns, rows = with_station(conn, columns, rows, kind)
    if anomalies is not None:
        with state.engine.connect() as conn:
            columns, rows = with_anomalies(conn, product, columns, rows, kind, anomalies)
    response = _respond(
        request,
        state,
        fmt,
        product,
        columns,
        rows,
        limit,
        lambda r: (r[y_i], r[q_i], r[s_i]),
        headers,
        csv_metadata,
    )
    state.bodies.put(etag, url, response)
    return response


@router.get(
    "/{product}/{year}/{quarter}",
    response_model=None,
    responses=table_responses(FeaturePage),
    summary="All stations of one product and quarter",
)
def get_quarter(
    request: Request,
    product: Annotated[ProductName, Path(description="a product (see /v1/catalog)")],
    year: Annotated[int, Field(ge=1800, le=2200)],
    quarter: Annotated[int, Field(ge=1, le=4)],
    state: Annotated[ApiState, Depends(api_state)],
    features: FeatureNames = None,
    min_coverage: MinCoverage = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
    format: Format = None,
    metadata: Metadata = False,
    include_station: IncludeStation = False,
    anomalies: Anomalies = False,
    normals_base: NormalsBase = None,
) -> Response:
    """The published version of (product, quarter), ordered by station_id; 404 when none is published.

    ``anomalies=true`` appends the anomaly columns against the quarter normals (404 ``no_normals`` when they are
    not published over ``normals_base``)."""
    name = product
    base = base_years(normals_base) if anomalies else None
    q = path_quarter(year, quarter)
    fmt = negotiate(request, format)
    columns = select_columns(name, features)
    after = decode_cursor(cursor, 1) if cursor is not None else None
    stmt = statement(
        name,
        tuple(columns),
        per_quarter=True,
        min_coverage=min_coverage is not None,
        first=False,
        last=False,
        after=after is not None,
    )
    params: dict[str, Any] = {
        "limit": limit + 1,
        "q_year": q.year,
        "q_quarter": q.quarter,
        "period_kind": "quarter",
    }
    if min_coverage is not None:
        params["min_coverage"] = min_coverage
    if after is not None:
        params["after_station"] = after[0]
    query = sorted(request.query_params.multi_items())
    url = str(request.url)
    with state.engine.connect() as conn:
        # A published quarter is immutable and its version name identifies it: ask for the version first (one
        # indexed row) and answer from the body cache when this exact representation was built before.
        version = available_version(conn, name, q)
        # the normals version served identifies the anomalies as much as the curated version does
        normals = None if base is None else normals_etag_part(conn, name, "quarter", base)
        etag = make_etag("quarter", name, fields_etag_part(name), q, version, query, fmt.value, normals)
        hit, headers = conditional(request, state, etag)
        if hit:
            return Response(status_code=304, headers=headers)
        cached = state.bodies.get(etag, url)
        if cached is not None:
            return cached
        rows: list[Any] = list(conn.execute(stmt, params))
        if include_station:
            columns, rows = with_station(conn, columns, rows)
        if base is not None:
            columns, rows = with_anomalies(conn, name, columns, rows, "quarter", base)
    s_i, _, _, v_i = key_positions(tuple(columns))
    if rows and rows[0][v_i] != version:  # a publish between the two statements: serve the rows'
        version = rows[0][v_i]
        etag = make_etag("quarter", name, fields_etag_part(name), q, version, query, fmt.value, normals)
        hit, headers = conditional(request, state, etag)
        if hit:
            return Response(status_code=304, headers=headers)
    headers["X-Dataset-Version"] = version
    response = _respond(
        request, state, fmt, name, columns, rows, limit, lambda r: (r[s_i],), headers, metadata
    )
    state.bodies.put(etag, url, response)
    return response
