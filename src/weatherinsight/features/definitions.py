"""The feature definition of each product: ``staged rows → one row per station`` as one Ibis expression.

``build_quarter`` frames the staged table to the quarter, adds the coverage columns and the product's gated
features (catalog order and SQL types). Both engines execute exactly this expression. A new hourly product
registers its ``build`` function here; a product whose day-based indices prefer DWD's daily KL values
(``features.daily_kl``) is also listed in ``USES_DAILY_KL`` and gets the staged daily table.
"""

from __future__ import annotations

from collections.abc import Callable

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
from weatherinsight.features.common import Rules, coverage, finish, prepare
from weatherinsight.features.daily_kl import frame_days
from weatherinsight.features.day_sources import READS_DAILY

Builder = Callable[[ir.Table, Rules], ir.Table]
KlBuilder = Callable[[ir.Table, Rules, ir.Table | None], ir.Table]

BUILDERS: dict[str, Builder] = {
    "air_temperature": temperature.build,
    "precipitation": precipitation.build,
    "wind": wind.build,
    "pressure": pressure.build,
    "moisture": moisture.build,
    "sun": sun.build,
    "cloudiness": cloudiness.build,
}
#: Products whose definition reads ``Rules.latitudes`` (the aggregation then loads station latitudes).
NEEDS_LATITUDE: set[str] = {"sun"}


def needs_latitude(product: str) -> bool:
    return get_product(product).name in NEEDS_LATITUDE


def register(
    product: Product, features: tuple[FeatureSpec, ...], build: Builder, *, latitude: bool = False
) -> None:
    """Add a whole product at run time — registry entry, catalog rows, definition — through the same tables
    the shipped products use (tests and plug-ins; the curated table follows from ``warehouse.tables``)."""
    register_product(product)
    try:
        register_features(features)
    except ValueError:
        unregister_product(product.name)
        raise
    BUILDERS[product.name] = build
    if latitude:
        NEEDS_LATITUDE.add(product.name)


def unregister(name: str) -> None:
    """Undo ``register`` (the curated table is dropped from the schema by ``warehouse.tables``)."""
    BUILDERS.pop(name, None)
    NEEDS_LATITUDE.discard(name)
    unregister_features(name)
    unregister_product(name)


#: Products whose day-based indices take DWD's daily KL values where a station has them (issue #17).
USES_DAILY_KL: dict[str, KlBuilder] = {
    "air_temperature": temperature.build,
    "precipitation": precipitation.build,
}
if set(USES_DAILY_KL) != set(READS_DAILY):  # the parse-time fact and the definitions must agree
    raise RuntimeError(
        f"day_sources.READS_DAILY {sorted(READS_DAILY)} != USES_DAILY_KL {sorted(USES_DAILY_KL)}"
    )


def build_quarter(
    staged: ir.Table,
    product: str,
    rules: Rules,
    *,
    materialize: Callable[[ir.Table], ir.Table] | None = None,
    daily: ir.Table | None = None,
) -> ir.Table:
    """The curated rows (without version/time columns) of one product and quarter from its staged rows.

    ``materialize`` lets an engine store the framed quarter rows once (a temp table / cached view) before
    the many aggregations read them; it must return a table with the same rows and columns. ``daily`` is the
    staged daily KL table (any quarters; framed here) for a product in ``USES_DAILY_KL``; None: no KL values.
    """
    prod = get_product(product)
    rules = rules.for_product(prod)
    p = prepare(staged, prod, rules)
    if materialize is not None:
        p = materialize(p)
    if prod.name in USES_DAILY_KL:
        kl = frame_days(daily, rules) if daily is not None else None
        features = USES_DAILY_KL[prod.name](p, rules, kl)
    else:
        features = BUILDERS[prod.name](p, rules)
    return finish(coverage(p, prod, rules), features, prod)


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
