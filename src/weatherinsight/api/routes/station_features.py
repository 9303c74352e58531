"""``/v1/stations/{station_id}/features``: several products' published features of one station in one answer.

Long format — one row per product × quarter, a ``product`` column first, then the provenance columns every
product shares (coverage, QN range, share_recent, dataset_version …), then the requested products' features;
a feature of another product is null in a row. In pandas ``df[df["product"] == "wind"].dropna(axis=1,
how="all")`` gives one product back and ``df.pivot(index=["year", "quarter"], columns="product", values=...)``
sets them side by side. Rows are ordered by (product in the order asked, year, quarter); one station has few
quarters per product, so the answer is not paged.
"""

from __future__ import annotations

from typing import Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from weatherinsight import DWD_ATTRIBUTION
from weatherinsight.api.deps import (
    STATION_ID_MAX,
    ApiState,
    api_state,
    conditional,
    make_etag,
    parse_quarter_bounds,
    require_pattern,
)
from weatherinsight.api.errors import ApiError
from weatherinsight.api.fields import describe, round_rows
from weatherinsight.api.formats import negotiate, render_rows
from weatherinsight.api.published import FIXED_COLUMNS, full_columns
from weatherinsight.api.routes._common import reject_unknown_query, table_responses
from weatherinsight.api.routes.feature_query import PERIOD_FIELD, period_bounds, statement
from weatherinsight.api.routes.features import arrow_types
from weatherinsight.api.routes.params import (
    SPEC_FEATURES_PATTERN,
    Format,
    Metadata,
    MinCoverage,
    PeriodKindQuery,
    QuarterFrom,
    QuarterTo,
)
from weatherinsight.api.schemas import StationFeaturePage
from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.features.catalog import features_for
from weatherinsight.periods import Period, PeriodKind

router = APIRouter(prefix="/stations", tags=["features"], dependencies=[Depends(reject_unknown_query)])

_NAMES = "|".join(PRODUCTS)
#: Products by name, comma-separated; a repeated name counts once (the first place decides the order).
PRODUCTS_PATTERN = rf"^({_NAMES})(,({_NAMES})){{0,31}}$"
_COVERAGE = FIXED_COLUMNS.index("coverage")

ProductList = Annotated[
    str,
    Query(
        max_length=400,
        json_schema_extra={"pattern": PRODUCTS_PATTERN},
        description="comma-separated products (see /v1/catalog), e.g. air_temperature,wind",
        examples=["air_temperature,wind"],
    ),
]
StationFeatureNames = Annotated[
    str | None,
    Query(
        max_length=2000,
        json_schema_extra={"pattern": SPEC_FEATURES_PATTERN},
        description="comma-separated features, each of one of the requested products; default all of them",
    ),
]


def parse_products(products: str) -> list[str]:
    """The requested product names in order, each once; 400 naming the known ones for an unknown name."""
    require_pattern("products", products, PRODUCTS_PATTERN, "name,name,… of " + ", ".join(PRODUCTS))
    return list(dict.fromkeys(products.split(",")))


def product_columns(products: list[str], features: str | None) -> dict[str, list[str]]:
    """Product → its feature columns asked for; 400 naming the allowed features for a name in no product."""
    own = {p: [f.name for f in features_for(p)] for p in products}
    if features is None:
        return own
    wanted = list(dict.fromkeys(features.split(",")))
    allowed = [n for p in products for n in own[p]]
    unknown = [w for w in wanted if w not in allowed]
    if unknown or not wanted:
        raise ApiError(
            400,
            "invalid_parameter",
            f"query parameter 'features': unknown feature(s) {', '.join(repr(u[:64]) for u in unknown[:5])} "
            f"for {', '.join(products)}; allowed: {', '.join(allowed)}",
        )
    return {p: [n for n in own[p] if n in wanted] for p in products}


@router.get(
    "/{station_id}/features",
    response_model=None,
    responses=table_responses(StationFeaturePage),
    summary="Features of several products for one station",
)
def get_station_features(
    request: Request,
    station_id: Annotated[int, Path(ge=1, le=STATION_ID_MAX, description="DWD station id")],
    products: ProductList,
    state: Annotated[ApiState, Depends(api_state)],
    from_: QuarterFrom = None,
    to: QuarterTo = None,
    features: StationFeatureNames = None,
    min_coverage: MinCoverage = None,
    format: Format = None,
    metadata: Metadata = False,
    period: PeriodKindQuery = "quarter",
) -> Response:
    """One row per product × published quarter of the station, ordered by (product as asked, year, quarter).

    Columns: product, the shared provenance columns, then every requested feature (null in the rows of the
    other products). Float features are rounded to their catalog ``precision``; units and definitions are in
    the JSON ``meta.fields``, the Parquet field metadata or the CSV ``metadata=true`` variant. With
    ``period=month|season|year`` the rows are those periods (``from``/``to``: the periods ending in those
    quarters), with their label in a last ``period`` column."""
    names = parse_products(products)
    fmt = negotiate(request, format)
    first, last = parse_quarter_bounds(from_, to)
    per_product = product_columns(names, features)
    feature_columns = [c for p in names for c in per_product[p]]
    columns = ["product", *FIXED_COLUMNS, *feature_columns]
    rows: list[tuple[Any, ...]] = []
    low = (first.year, first.quarter) if first is not None else None
    high = (last.year, last.quarter) if last is not None else None
    for product in names:
        own = [*FIXED_COLUMNS, *per_product[product]]
        full = full_columns(product)
        index = [full.index(c) for c in own]
        if period != "quarter":
            picked = _period_rows(state, product, period, station_id, own, first, last, min_coverage)
        else:
            picked = [
                tuple(r[i] for i in index)
                for r in state.published.rows_for(product, [station_id])
                if (low is None or (r[1], r[2]) >= low)
                and (high is None or (r[1], r[2]) <= high)
                and (min_coverage is None or (r[_COVERAGE] is not None and r[_COVERAGE] >= min_coverage))
            ]
        position = {c: i for i, c in enumerate(own)}
        for r in round_rows(product, own, picked):
            label = () if period == "quarter" else (Period(period, r[1], r[2]).label,)
            rows.append(
                (product, *r[: len(FIXED_COLUMNS)], *(_pick(r, position, c) for c in feature_columns), *label)
            )
    if period != "quarter":
        columns.append("period")
    version = FIXED_COLUMNS.index("dataset_version") + 1
    etag = make_etag(
        "station-features",
        station_id,
        sorted(request.query_params.multi_items()),
        fmt.value,
        [(r[0], r[version]) for r in rows],
    )
    hit, headers = conditional(request, state, etag)
    if hit:
        return Response(status_code=304, headers=headers)
    return render_rows(
        fmt,
        meta={"attribution": DWD_ATTRIBUTION, "station_id": station_id, "count": len(rows), "next": None},
        columns=columns,
        types=_types(names, per_product) + ([] if period == "quarter" else [pa.string()]),
        rows=rows,
        next_url=None,
        headers=headers,
        filename=f"station_{station_id}_features",
        fields=_fields(names, per_product, period),
        csv_metadata=metadata,
    )


def _pick(row: tuple[Any, ...], position: dict[str, int], column: str) -> Any:
    i = position.get(column)
    return None if i is None else row[i]


def _types(products: list[str], per_product: dict[str, list[str]]) -> list[pa.DataType]:
    types: list[pa.DataType] = [pa.string(), *arrow_types(products[0], FIXED_COLUMNS)]
    for p in products:
        types += arrow_types(p, tuple(per_product[p]))
    return types


def _fields(
    products: list[str], per_product: dict[str, list[str]], period: PeriodKind = "quarter"
) -> dict[str, dict[str, Any]]:
    out = describe(products[0], FIXED_COLUMNS)
    for p in products:
        out.update(describe(p, per_product[p]))
    if period != "quarter":
        out["period"] = {"unit": "", "definition": PERIOD_FIELD}
    return out


def _period_rows(
    state: ApiState,
    product: str,
    kind: PeriodKind,
    station_id: int,
    columns: list[str],
    first: Any,
    last: Any,
    min_coverage: float | None,
) -> list[tuple[Any, ...]]:
    """The station's published month, season or year rows of ``product`` from SQL (the published-data cache
    holds quarters only), ordered by (year, number); ``first``/``last``: the periods ending in those quarters."""
    low, high = period_bounds(kind, first, last)
    stmt = statement(
        product,
        tuple(columns),
        per_quarter=False,
        min_coverage=min_coverage is not None,
        first=low is not None,
        last=high is not None,
        after=False,
        stations=True,
    )
    params: dict[str, Any] = {"limit": 1_000_000, "period_kind": kind, "stations": [station_id]}
    if min_coverage is not None:
        params["min_coverage"] = min_coverage
    if low is not None:
        params.update(from_year=low[0], from_quarter=low[1])
    if high is not None:
        params.update(to_year=high[0], to_quarter=high[1])
    with state.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(stmt, params)]
