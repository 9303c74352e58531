"""The client's local back end: the embedded store read in-process with the API's own read functions, so its
tables equal the API's answers (published versions only, the same order, rounding and field metadata)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC
from typing import Any, Concatenate, ParamSpec, TypeVar

import pyarrow as pa
from sqlalchemy import select, tuple_
from sqlalchemy.exc import DBAPIError

from weatherinsight.api.errors import ApiError
from weatherinsight.api.fields import round_rows
from weatherinsight.api.published import FIXED_COLUMNS
from weatherinsight.api.routes.anomaly_columns import anomaly_columns, base_years, with_anomalies
from weatherinsight.api.routes.catalog import catalog_rows
from weatherinsight.api.routes.feature_query import (
    arrow_types,
    describe_columns,
    period_bounds,
    select_columns,
    with_period,
)
from weatherinsight.api.routes.station_columns import with_station
from weatherinsight.api.routes.station_features import parse_products, product_columns
from weatherinsight.api.routes.stations import search_stations, station_filters
from weatherinsight.client.query import (
    CATALOG_COLUMNS,
    DISTANCE,
    STATION_SCHEMA,
    FeatureQuery,
    QueryError,
    StationFeatureQuery,
    StationQuery,
    point_text,
)
from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.periods import parse_kind
from weatherinsight.quarters import Quarter
from weatherinsight.settings import Settings, load_settings
from weatherinsight.warehouse import lineage
from weatherinsight.warehouse.db import get_engine, missing_schema
from weatherinsight.warehouse.tables import curated_table

_PAGE = 10_000

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _reads_store(
    method: Callable[Concatenate[LocalBackend, _P], _R],
) -> Callable[Concatenate[LocalBackend, _P], _R]:
    """A read that fails because the database was never migrated raises ``SchemaMissingError`` (naming the
    database and ``weatherinsight db upgrade``) instead of the driver's "no such table"; other failures pass."""

    @functools.wraps(method)
    def wrapper(self: LocalBackend, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except DBAPIError:
            missing = missing_schema(self.engine)
            if missing is None:
                raise
            raise missing from None

    return wrapper


class LocalBackend:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings if settings is not None else load_settings()
        self.engine = get_engine(self.settings.database_url)

    @_reads_store
    def stations(self, query: StationQuery) -> pa.Table:
        try:
            conds, centre, radius = station_filters(
                query.state,
                _product(query.product),
                None,
                point_text(query.near) if query.near is not None else None,
                query.radius_km,
                None,
            )
            objects: list[dict[str, Any]] = []
            after = 0
            with self.engine.connect() as conn:
                while True:
                    page, more = search_stations(
                        conn,
                        conds,
                        centre=centre,
                        radius_km=radius,
                        name=query.name,
                        after=after,
                        limit=_PAGE,
                    )
                    objects += page
                    if not more:
                        break
                    after = after + _PAGE if centre is not None else page[-1]["station_id"]
        except ApiError as exc:
            raise QueryError(exc.message) from None
        schema = STATION_SCHEMA.append(DISTANCE) if centre is not None else STATION_SCHEMA
        return pa.Table.from_pylist(objects, schema=schema)

    @_reads_store
    def catalog(self) -> pa.Table:
        with self.engine.connect() as conn:
            rows = catalog_rows(conn)
        return pa.Table.from_pylist([{c: r.get(c) for c in CATALOG_COLUMNS} for r in rows])

    @_reads_store
    def features(self, query: FeatureQuery) -> pa.Table:
        product = _product(query.product)
        assert product is not None
        try:
            columns = select_columns(product, ",".join(query.features) if query.features else None)
        except ApiError as exc:
            raise QueryError(exc.message) from None
        table = curated_table(product)
        c = table.c
        if query.version is None:
            stmt = select(*(c[n] for n in columns)).select_from(lineage.published_from(product))
        else:
            stmt = select(*(c[n] for n in columns)).where(c.dataset_version == query.version)
        if query.stations is not None:
            stmt = stmt.where(c.station_id.in_(query.stations))
        kind = parse_kind(query.period)
        if query.version is None:
            stmt = stmt.where(c.period_kind == kind)
        low, high = period_bounds(
            kind,
            None if query.start is None else _quarter("start", query.start),
            None if query.end is None else _quarter("end", query.end),
        )
        if low is not None:
            stmt = stmt.where(tuple_(c.year, c.quarter) >= tuple_(*low))
        if high is not None:
            stmt = stmt.where(tuple_(c.year, c.quarter) <= tuple_(*high))
        if query.min_coverage is not None:
            stmt = stmt.where(c.coverage >= query.min_coverage)
        stmt = stmt.order_by(c.year, c.quarter, c.station_id)
        with self.engine.connect() as conn:
            rows = round_rows(product, columns, [tuple(r) for r in conn.execute(stmt)])
            columns, rows = with_period(kind, columns, rows)  # the label, as the API's period= answer
            if query.include_station:
                columns, rows = with_station(conn, columns, rows, kind)
            if query.anomalies:
                try:
                    base = base_years(query.normals_base)
                    columns, rows = with_anomalies(conn, product, columns, rows, kind, base)
                except ApiError as exc:
                    raise QueryError(exc.message) from None
        fields = describe_columns(product, columns)
        schema = pa.schema(
            [
                pa.field(n, t, metadata={k: str(v) for k, v in fields.get(n, {}).items() if v is not None})
                for n, t in zip(columns, arrow_types(product, tuple(columns)), strict=True)
            ]
        )
        arrays = [_array([r[i] for r in rows], schema.field(i).type) for i in range(len(columns))]
        return pa.Table.from_arrays(arrays, schema=schema)

    def station_features(self, query: StationFeatureQuery) -> pa.Table:
        """The API's long layout built from per-product reads: product, shared columns, every asked feature,
        the period label (month, season, year), then every asked feature's anomaly columns."""
        try:
            names = parse_products(",".join(query.products))
            per_product = product_columns(names, ",".join(query.features) if query.features else None)
        except ApiError as exc:
            raise QueryError(exc.message) from None
        # a product none of whose features is asked still gives its rows (its shared columns)
        tables = [
            self.features(
                FeatureQuery(
                    p,
                    [query.station_id],
                    query.start,
                    query.end,
                    per_product[p] or None,
                    query.min_coverage,
                    period=query.period,
                    anomalies=query.anomalies,
                    normals_base=query.normals_base,
                )
            )
            for p in names
        ]
        label = [] if query.period == "quarter" else ["period"]
        extra = [c for p in names for c in anomaly_columns(p, per_product[p])] if query.anomalies else []
        fields = [pa.field("product", pa.string())]
        fields += [tables[0].schema.field(c) for c in FIXED_COLUMNS]
        fields += [t.schema.field(c) for p, t in zip(names, tables, strict=True) for c in per_product[p]]
        fields += [tables[0].schema.field(c) for c in label]
        for c in extra:  # each anomaly column belongs to one product's table
            fields.append(next(t.schema.field(c) for t in tables if c in t.column_names))
        schema = pa.schema(fields)
        columns: list[pa.Array] = []
        for f in schema:
            parts = []
            for p, t in zip(names, tables, strict=True):
                if f.name == "product":
                    parts.append(pa.array([p] * t.num_rows, type=pa.string()))
                elif f.name in t.column_names and (per_product[p] or f.name in (*FIXED_COLUMNS, *label)):
                    parts.append(t.column(f.name).combine_chunks())
                else:
                    parts.append(pa.nulls(t.num_rows, type=f.type))
            columns.append(pa.concat_arrays(parts))
        return pa.Table.from_arrays(columns, schema=schema)


def _array(values: list[Any], typ: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(typ):  # SQLite gives naive datetimes: they are UTC (as the API's Parquet says)
        values = [v if v is None or v.tzinfo else v.replace(tzinfo=UTC) for v in values]
    return pa.array(values, type=typ)


def _product(name: str | None) -> str | None:
    if name is not None and name not in PRODUCTS:
        raise QueryError(f"product: unknown product {name!r}; known: {', '.join(PRODUCTS)}")
    return name


def _quarter(parameter: str, text: str) -> Quarter:
    try:
        return Quarter.parse(text)
    except Exception as exc:  # the quarter grammar's own error says what is wrong with the text
        raise QueryError(f"{parameter}: {exc}") from None
