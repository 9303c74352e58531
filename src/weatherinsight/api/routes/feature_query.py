"""The SQL and the shape of a ``/v1/features`` answer: which columns, their Arrow types and field descriptions,
the cached SELECT per request shape, the month/season/year rows of ``period=`` (their (year, number) bounds,
their SQL read and their ``period`` label column) and the AVAILABLE curated version of one quarter
(``available_version``).

``routes/features.py`` answers the requests with these; the local client (``client/local.py``) reuses them so
its frames equal the API's.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, Select, bindparam, select, tuple_

from weatherinsight.api.deps import FEATURES_PATTERN, require_pattern
from weatherinsight.api.errors import ApiError
from weatherinsight.api.fields import describe
from weatherinsight.api.published import FIXED_COLUMNS, full_columns
from weatherinsight.api.routes._common import arrow_type
from weatherinsight.api.routes.anomaly_columns import anomaly_fields, anomaly_types
from weatherinsight.api.routes.station_columns import STATION_COLUMNS, STATION_FIELDS, STATION_TYPES
from weatherinsight.features.catalog import features_for, on_catalog_change
from weatherinsight.periods import PERIOD_COUNT, Period, PeriodKind
from weatherinsight.quarters import Quarter
from weatherinsight.warehouse import lineage
from weatherinsight.warehouse.tables import curated_table

_FIXED = FIXED_COLUMNS


def select_columns(product: str, features: str | None) -> list[str]:
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


@functools.lru_cache(maxsize=512)
def statement(
    product: str,
    columns: tuple[str, ...],
    *,
    per_quarter: bool,
    min_coverage: bool,
    first: bool,
    last: bool,
    after: bool,
    stations: bool = False,
) -> Select[Any]:
    """The SELECT for one request shape, built once and reused; every value is a bound parameter.

    Building a 30-column statement took longer than running it; cached by shape (bounded), the request only
    binds values. Parameters: q_year/q_quarter, min_coverage, from_/to_ year+quarter, after_* (keyset), limit.
    Queries naming stations do not come here: they read the published-data cache (``station_features``).
    """
    t = curated_table(product)
    stmt = select(*(t.c[c] for c in columns if c != "period")).select_from(lineage.published_from(product))
    stmt = stmt.where(t.c.period_kind == bindparam("period_kind"))
    if stations:
        stmt = stmt.where(t.c.station_id.in_(bindparam("stations", expanding=True)))
    if per_quarter:
        stmt = stmt.where(t.c.year == bindparam("q_year"), t.c.quarter == bindparam("q_quarter"))
    if min_coverage:
        stmt = stmt.where(t.c.coverage >= bindparam("min_coverage"))
    if first:
        stmt = stmt.where(
            tuple_(t.c.year, t.c.quarter) >= tuple_(bindparam("from_year"), bindparam("from_quarter"))
        )
    if last:
        stmt = stmt.where(
            tuple_(t.c.year, t.c.quarter) <= tuple_(bindparam("to_year"), bindparam("to_quarter"))
        )
    if after and per_quarter:
        stmt = stmt.where(t.c.station_id > bindparam("after_station"))
    elif after:
        stmt = stmt.where(
            tuple_(t.c.year, t.c.quarter, t.c.station_id)
            > tuple_(bindparam("after_year"), bindparam("after_quarter"), bindparam("after_station"))
        )
    order = (t.c.station_id,) if per_quarter else (t.c.year, t.c.quarter, t.c.station_id)
    return stmt.order_by(*order).limit(bindparam("limit"))


@functools.lru_cache(maxsize=512)
def arrow_types(product: str, columns: tuple[str, ...]) -> tuple[pa.DataType, ...]:
    table = curated_table(product)
    station = dict(zip(STATION_COLUMNS, STATION_TYPES, strict=True), period=pa.string())
    station.update(anomaly_types(product))
    return tuple(station[c] if c in station else arrow_type(table.c[c]) for c in columns)


def describe_columns(product: str, columns: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``describe`` plus the station columns of ``include_station``, the ``period`` label and the anomaly
    columns of ``anomalies=true``."""
    out = describe(product, columns)
    anomalies = anomaly_fields(product)
    out.update({c: anomalies[c] for c in columns if c in anomalies})
    out.update({c: STATION_FIELDS[c] for c in columns if c in STATION_FIELDS})
    if "period" in columns:
        out["period"] = {"unit": "", "definition": PERIOD_FIELD}
    return out


#: What the ``period`` column of a month/season/year answer is.
PERIOD_FIELD = (
    "the period's label: YYYY-MM (month), YYYY + DJF/MAM/JJA/SON (meteorological season; DJF is December of the "
    "year before + January + February) or YYYY (year)"
)


def period_bounds(
    kind: PeriodKind, first: Quarter | None, last: Quarter | None
) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """(year, number) of the first and last period of ``kind`` whose last day lies in the quarters
    ``first``..``last`` (inclusive bounds for the curated (year, quarter) columns; may lie outside 1800..2200)."""
    # the period holding the first instant of ``first`` ends inside or after it: it is the first one
    low = None if first is None else Period.of(kind, first.start)
    high: tuple[int, int] | None = None
    if last is not None:
        moment = last.end - timedelta(hours=1)
        if kind == "season" and moment.month == 12:
            # the winter December opens ends after ``last`` (and may lie past the year 2200): autumn is the last
            high = (moment.year, 4)
        else:
            p = Period.of(kind, moment)
            if p.end <= last.end:
                high = (p.year, p.number)
            else:  # still running at the end of ``last``: the one before is the last (maybe before 1800)
                high = (p.year, p.number - 1) if p.number > 1 else (p.year - 1, PERIOD_COUNT[kind])
    return (None if low is None else (low.year, low.number)), high


def period_rows(
    conn: Connection,
    product: str,
    kind: PeriodKind,
    columns: Sequence[str],
    *,
    first: Quarter | None,
    last: Quarter | None,
    station_ids: Sequence[int] | None = None,
    min_coverage: float | None = None,
    after: Sequence[int] | None = None,
    limit: int | None = None,
) -> list[tuple[Any, ...]]:
    """Published rows of the month, season or year periods of ``kind`` from SQL (the published-data cache holds
    quarters only), ordered by (year, number, station_id); ``first``/``last``: the periods ending in those
    quarters; ``after``: the keyset (year, number, station_id); ``limit`` rows at most (None: all)."""
    low, high = period_bounds(kind, first, last)
    stmt = statement(
        product,
        tuple(columns),
        per_quarter=False,
        min_coverage=min_coverage is not None,
        first=low is not None,
        last=high is not None,
        after=after is not None,
        stations=bool(station_ids),
    )
    # one station's periods are few (12 months × its years): "all" is a bound no answer reaches
    params: dict[str, Any] = {"limit": 1_000_000 if limit is None else limit, "period_kind": kind}
    if station_ids:
        params["stations"] = sorted(set(station_ids))
    if min_coverage is not None:
        params["min_coverage"] = min_coverage
    if low is not None:
        params.update(from_year=low[0], from_quarter=low[1])
    if high is not None:
        params.update(to_year=high[0], to_quarter=high[1])
    if after is not None:
        params.update(after_year=after[0], after_quarter=after[1], after_station=after[2])
    return [tuple(r) for r in conn.execute(stmt, params)]


def with_period(
    kind: PeriodKind, columns: list[str], rows: Sequence[Sequence[Any]]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """``columns`` and ``rows`` (holding year and the period's number in ``quarter``) with the ``period`` label
    appended (``2024-01``, ``2024DJF``, ``2024``); unchanged for quarters, whose answers carry no label."""
    if kind == "quarter":
        return columns, [tuple(r) for r in rows]
    y_i, q_i = columns.index("year"), columns.index("quarter")
    return [*columns, "period"], [(*r, Period(kind, r[y_i], r[q_i]).label) for r in rows]


@functools.lru_cache(maxsize=512)
def projection(product: str, columns: tuple[str, ...]) -> tuple[int, ...] | None:
    """Positions of ``columns`` in a full cached row; None when they are the full row."""
    full = full_columns(product)
    if columns == full:
        return None
    return tuple(full.index(c) for c in columns)


# Statements, Arrow types and projections hold a product's catalog rows and curated table (rebuilt for a product
# registered again with other rows): drop them on every (un)registration. ``key_positions`` names no product.
on_catalog_change(statement.cache_clear)
on_catalog_change(arrow_types.cache_clear)
on_catalog_change(projection.cache_clear)


@functools.lru_cache(maxsize=512)
def key_positions(columns: tuple[str, ...]) -> tuple[int, int, int, int]:
    """Positions of (station_id, year, quarter, dataset_version) in a row of ``columns``."""
    return (
        columns.index("station_id"),
        columns.index("year"),
        columns.index("quarter"),
        columns.index("dataset_version"),
    )


def available_version(conn: Connection, product: str, q: Quarter) -> str:
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
