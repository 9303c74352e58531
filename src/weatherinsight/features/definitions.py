"""The feature definition of each product: ``staged rows → one row per station``, written once in Ibis.

Two stages (``features/framing.py``): ``frame`` turns the period's staged (and daily KL) rows into the framed
input tables — the only step that sees the period's dates — and the engine stores each under its fixed name;
``build_features`` then adds the coverage columns and the product's gated features (catalog order and SQL
types) from those tables and a ``Shape`` (the period's counts, no period). The builders' signatures admit
nothing else, so the compiled feature SQL is a pure function of (``definition_key``, ``Shape``, the framed
tables' schemas): the DuckDB engine caches it on exactly that key (``engines/sql_cache.py``). Both engines
execute the same expressions. A new hourly product registers its ``build(p, shape)`` here; a product whose
day-based indices prefer DWD's daily KL values (``features.daily_kl``) is listed in ``USES_DAILY_KL`` and gets
the framed KL days; one that needs station latitudes (sun) is in ``STATION_DAY_BUILDERS`` and gets the framed
station × day table.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import cast

import ibis.expr.types as ir
import pyarrow as pa

from weatherinsight.dwd.products import Product, get_product, register_product, unregister_product
from weatherinsight.features import cloudiness, moisture, precipitation, pressure, sun, temperature, wind
from weatherinsight.features.catalog import (
    COVERAGE_COLUMNS,
    FeatureSpec,
    features_for,
    register_features,
    unregister_features,
)
from weatherinsight.features.common import Rules, Shape, coverage, finish
from weatherinsight.features.day_sources import READS_DAILY
from weatherinsight.features.framing import HOURS, KL_DAYS, STATION_DAYS, frame_days, prepare, station_days

Builder = Callable[[ir.Table, Shape], ir.Table]
KlBuilder = Callable[[ir.Table, Shape, ir.Table | None], ir.Table]
StationDayBuilder = Callable[[ir.Table, Shape, ir.Table], ir.Table]
#: How an engine stores one framed table under its fixed name (temp table, cached view) and reads it back.
Materialize = Callable[[str, ir.Table], ir.Table]

BUILDERS: dict[str, Builder] = {
    "wind": wind.build,
    "pressure": pressure.build,
    "moisture": moisture.build,
    "cloudiness": cloudiness.build,
}
#: Products whose day-based indices take DWD's daily KL values where a station has them (issue #17).
USES_DAILY_KL: dict[str, KlBuilder] = {
    "air_temperature": temperature.build,
    "precipitation": precipitation.build,
}
#: Products whose definition reads station facts per day (the framed ``STATION_DAYS`` table: possible
#: sunshine from the station latitudes, so the aggregation loads ``Rules.latitudes`` for them).
STATION_DAY_BUILDERS: dict[str, StationDayBuilder] = {"sun": sun.build}
if set(USES_DAILY_KL) != set(READS_DAILY):  # the parse-time fact and the definitions must agree
    raise RuntimeError(
        f"day_sources.READS_DAILY {sorted(READS_DAILY)} != USES_DAILY_KL {sorted(USES_DAILY_KL)}"
    )


def needs_latitude(product: str) -> bool:
    return get_product(product).name in STATION_DAY_BUILDERS


def register(
    product: Product,
    features: tuple[FeatureSpec, ...],
    build: Builder | StationDayBuilder,
    *,
    latitude: bool = False,
) -> None:
    """Add a whole product at run time — registry entry, catalog rows, definition — through the same tables
    the shipped products use (tests and plug-ins; the curated table follows from ``warehouse.tables``).
    ``latitude=True``: ``build(p, shape, station_days)`` (a ``StationDayBuilder``), else ``build(p, shape)``."""
    register_product(product)
    try:
        register_features(features)
    except ValueError:
        unregister_product(product.name)
        raise
    if latitude:
        STATION_DAY_BUILDERS[product.name] = cast(StationDayBuilder, build)
    else:
        BUILDERS[product.name] = cast(Builder, build)


def unregister(name: str) -> None:
    """Undo ``register`` (the curated table is dropped from the schema by ``warehouse.tables``)."""
    BUILDERS.pop(name, None)
    STATION_DAY_BUILDERS.pop(name, None)
    unregister_features(name)
    unregister_product(name)


@dataclass(frozen=True)
class Framed:
    """The framed input tables of one aggregation, as the engine stored them (``framing`` module docstring)."""

    hours: ir.Table
    kl: ir.Table | None = None
    station_days: ir.Table | None = None

    def schemas(self) -> tuple[tuple[str, tuple[tuple[str, str], ...]] | None, ...]:
        """(name, columns and types) of each input, None where absent: part of the compiled-SQL cache key."""
        return tuple(
            (t.get_name(), tuple((n, str(ty)) for n, ty in t.schema().items())) if t is not None else None
            for t in (self.hours, self.kl, self.station_days)
        )


def shape_of(product: str, rules: Rules) -> Shape:
    """The counts ``product``'s definition gets for ``rules`` (valid-day threshold scaled to its hours per day)."""
    return rules.for_product(get_product(product)).shape()


def frame(
    staged: ir.Table,
    product: str,
    period: ir.Table,
    *,
    materialize: Materialize,
    daily: ir.Table | None = None,
    latitudes: ir.Table | None = None,
) -> Framed:
    """Stage 1: frame the period's inputs and store each through ``materialize`` under its fixed name.

    ``period`` is the registered ``framing.period_table`` (the period's dates as data); ``daily`` the staged
    daily KL table (any quarters; framed here) for a product in ``USES_DAILY_KL`` (None: no KL values);
    ``latitudes`` the registered ``framing.latitude_table`` for a product in ``STATION_DAY_BUILDERS``.
    """
    prod = get_product(product)
    hours = materialize(HOURS, prepare(staged, prod, period))
    kl = None
    if prod.name in USES_DAILY_KL and daily is not None:
        kl = materialize(KL_DAYS, frame_days(daily, period))
    days = None
    if prod.name in STATION_DAY_BUILDERS:
        if latitudes is None:
            raise ValueError(f"{prod.name}: the definition needs the station latitudes table")
        days = materialize(STATION_DAYS, station_days(hours, latitudes, period))
    return Framed(hours, kl, days)


def build_features(framed: Framed, product: str, shape: Shape) -> ir.Table:
    """Stage 2: the curated rows (without version/time columns) from the framed tables and the counts only."""
    prod = get_product(product)
    p = framed.hours
    if prod.name in USES_DAILY_KL:
        features = USES_DAILY_KL[prod.name](p, shape, framed.kl)
    elif prod.name in STATION_DAY_BUILDERS:
        if framed.station_days is None:
            raise ValueError(f"{prod.name}: framed without the station × day table")
        features = STATION_DAY_BUILDERS[prod.name](p, shape, framed.station_days)
    else:
        features = BUILDERS[prod.name](p, shape)
    return finish(coverage(p, prod, shape), features, prod)


def definition_key(product: str) -> Hashable:
    """Everything ``build_features`` reads besides its arguments: the product's name and primary variable
    (``coverage``), its builder and its catalog rows (``finish``) — a product re-registered under the same name
    with another definition gets another key. Its value columns reach the SQL only through the framed hours
    table, whose schema is part of the cache key too (``Framed.schemas``)."""
    prod = get_product(product)
    builder = USES_DAILY_KL.get(prod.name) or STATION_DAY_BUILDERS.get(prod.name) or BUILDERS.get(prod.name)
    return (prod.name, prod.primary, builder, features_for(prod.name))


def output_schema(product: str) -> pa.Schema:
    """Arrow schema of the engine output: station_id, coverage columns, features (catalog order)."""
    prod = get_product(product)
    types = {"float": pa.float64(), "int": pa.int64(), "str": pa.string()}
    fields = [pa.field("station_id", pa.int32(), nullable=False)]
    fields += [pa.field(name, types[t]) for name, t, _ in COVERAGE_COLUMNS]
    fields += [pa.field(f.name, types[f.sql_type]) for f in features_for(prod.name)]
    return pa.schema(fields)


def conform(table: pa.Table, product: str) -> pa.Table:
    """Cast an engine's result to ``output_schema`` (engines differ in integer widths and nullability flags)."""
    schema = output_schema(product)
    return pa.table([table[f.name].cast(f.type) for f in schema], schema=schema)
