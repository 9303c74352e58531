"""``/v1/stations/{station_id}/features``: several products' published features of one station in one answer.

Long format — one row per product × quarter, a ``product`` column first, then the provenance columns every
product shares (coverage, QN range, share_recent, dataset_version …), then the requested products' features;
a feature of another product is null in a row. In pandas ``df[df["product"] == "wind"].dropna(axis=1,
how="all")`` gives one product back and ``df.pivot(index=["year", "quarter"], columns="product", values=...)``
sets them side by side. Rows are ordered by (product in the order asked, year, quarter); one station has few
quarters per product, so the answer is not paged.
"""

from __future__ import annotations

from contextlib import nullcontext
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
from weatherinsight.api.fields import fields_etag_part, round_rows
from weatherinsight.api.formats import negotiate, render_rows
from weatherinsight.api.published import FIXED_COLUMNS, full_columns
from weatherinsight.api.routes._common import reject_unknown_query, table_responses
from weatherinsight.api.routes.anomaly_columns import (
    anomaly_columns,
    anomaly_types,
    base_years,
    normals_etag_part,
    with_anomalies,
)
from weatherinsight.api.routes.feature_query import arrow_types, describe_columns, period_rows, with_period
from weatherinsight.api.routes.params import (
    Anomalies,
    Format,
    Metadata,
    MinCoverage,
    NormalsBase,
    PeriodKindQuery,
    QuarterFrom,
    QuarterTo,
    features_pattern_schema,
)
from weatherinsight.api.schemas import StationFeaturePage
from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.features.catalog import features_for

router = APIRouter(prefix="/stations", tags=["features"], dependencies=[Depends(reject_unknown_query)])


def products_pattern() -> str:
    """Products by name, comma-separated, as registered now; a repeated name counts once (the first place
    decides the order)."""
    names = "|".join(PRODUCTS)
    return rf"^({names})(,({names})){{0,31}}$"


def _products_pattern_schema(schema: dict[str, Any]) -> None:
    schema["pattern"] = products_pattern()  # the products registered when the OpenAPI document is built


_COVERAGE = FIXED_COLUMNS.index("coverage")

ProductList = Annotated[
    str,
    Query(
        max_length=400,
        json_schema_extra=_products_pattern_schema,
        description="comma-separated products (see /v1/catalog), e.g. air_temperature,wind",
        examples=["air_temperature,wind"],
    ),
]
StationFeatureNames = Annotated[
    str | None,
    Query(
        max_length=2000,
        json_schema_extra=features_pattern_schema,
        description="comma-separated features, each of one of the requested products; default all of them",
    ),
]


def parse_products(products: str) -> list[str]:
    """The requested product names in order, each once; 400 naming the known ones for an unknown name."""
    require_pattern("products", products, products_pattern(), "name,name,… of " + ", ".join(PRODUCTS))
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
    anomalies: Anomalies = False,
    normals_base: NormalsBase = None,
) -> Response:
    """One row per product × published quarter of the station, ordered by (product as asked, year, quarter).

    Columns: product, the shared provenance columns, then every requested feature (null in the rows of the
    other products). Float features are rounded to their catalog ``precision``; units and definitions are in
    the JSON ``meta.fields``, the Parquet field metadata or the CSV ``metadata=true`` variant. With
    ``period=month|season|year`` the rows are those periods (``from``/``to``: the periods ending in those
    quarters), with their label in a ``period`` column. ``anomalies=true`` appends the anomaly columns of every
    numeric feature asked (null in the other products' rows); 404 ``no_normals`` when one product's normals of
    that period kind are not published over ``normals_base``."""
    names = parse_products(products)
    fmt = negotiate(request, format)
    first, last = parse_quarter_bounds(from_, to)
    base = base_years(normals_base) if anomalies else None
    per_product = product_columns(names, features)
    feature_columns = [c for p in names for c in per_product[p]]
    extra = [] if base is None else [c for p in names for c in anomaly_columns(p, per_product[p])]
    label = [] if period == "quarter" else ["period"]
    columns = ["product", *FIXED_COLUMNS, *feature_columns, *label, *extra]
    rows: list[tuple[Any, ...]] = []
    low = (first.year, first.quarter) if first is not None else None
    high = (last.year, last.quarter) if last is not None else None
    normals: list[str] = []
    # quarters without anomalies come from the published-data cache alone: no connection (the cache answers
    # while the database is briefly unreachable)
    sql = period != "quarter" or base is not None
    with state.engine.connect() if sql else nullcontext() as conn:
        for product in names:
            own = [*FIXED_COLUMNS, *per_product[product]]
            if conn is not None and period != "quarter":
                picked = period_rows(
                    conn,
                    product,
                    period,
                    own,
                    first=first,
                    last=last,
                    station_ids=[station_id],
                    min_coverage=min_coverage,
                )
            else:
                full = full_columns(product)
                index = [full.index(c) for c in own]
                picked = [
                    tuple(r[i] for i in index)
                    for r in state.published.rows_for(product, [station_id])
                    if (low is None or (r[1], r[2]) >= low)
                    and (high is None or (r[1], r[2]) <= high)
                    and (min_coverage is None or (r[_COVERAGE] is not None and r[_COVERAGE] >= min_coverage))
                ]
            named, done = with_period(period, own, round_rows(product, own, picked))
            if conn is not None and base is not None:
                normals.append(normals_etag_part(conn, product, period, base))
                named, done = with_anomalies(conn, product, named, done, period, base)
            position = {c: i for i, c in enumerate(named)}
            rows += [(product, *(_pick(r, position, c) for c in columns[1:])) for r in done]
    version = FIXED_COLUMNS.index("dataset_version") + 1
    etag = make_etag(
        "station-features",
        station_id,
        [fields_etag_part(p) for p in names],
        sorted(request.query_params.multi_items()),
        fmt.value,
        [(r[0], r[version]) for r in rows],
        normals,
    )
    hit, headers = conditional(request, state, etag)
    if hit:
        return Response(status_code=304, headers=headers)
    return render_rows(
        fmt,
        meta={"attribution": DWD_ATTRIBUTION, "station_id": station_id, "count": len(rows), "next": None},
        columns=columns,
        types=_types(names, per_product, columns),
        rows=rows,
        next_url=None,
        headers=headers,
        filename=f"station_{station_id}_features",
        fields=_fields(names, columns),
        csv_metadata=metadata,
    )


def _pick(row: tuple[Any, ...], position: dict[str, int], column: str) -> Any:
    i = position.get(column)
    return None if i is None else row[i]


def _types(products: list[str], per_product: dict[str, list[str]], columns: list[str]) -> list[pa.DataType]:
    """Arrow types of ``columns``: product, the shared columns, each product's features, then the period label
    and anomaly columns (a feature name is unique across products, so its anomaly columns are too)."""
    types: list[pa.DataType] = [pa.string(), *arrow_types(products[0], FIXED_COLUMNS)]
    for p in products:
        types += arrow_types(p, tuple(per_product[p]))
    extra: dict[str, pa.DataType] = {"period": pa.string()}
    for p in products:
        extra.update(anomaly_types(p))
    return types + [extra[c] for c in columns[len(types) :]]


def _fields(products: list[str], columns: list[str]) -> dict[str, dict[str, Any]]:
    """Unit and definition of each of ``columns``, in their order, from the product each belongs to (the shared
    columns as the first product describes them)."""
    known: dict[str, dict[str, Any]] = {}
    for p in reversed(products):
        known.update(describe_columns(p, columns))
    return {c: known[c] for c in columns if c in known}
