"""A toy hourly product defined outside the package, to prove a product needs only a registry entry, a
feature definition and catalog rows (``features.definitions.register``): nothing else names it, not even the
quality check, which takes its critical feature from the catalog row.

Its one variable reuses the mirror's temperature series under a made-up DWD column (``TT_TY``), so the
simulated archive has data for it without a climate model of its own.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from weatherinsight.dwd.products import Product, Variable
from weatherinsight.features.catalog import FeatureSpec
from weatherinsight.features.common import KEY, Shape, attach, count_or_zero, gate, stations

NAME = "toy_temperature"
WARM_C = 10.0

PRODUCT = Product(
    name=NAME,
    code="TY",
    directory="toy_temperature",
    quality_column="QN_9",
    variables=(Variable("TT_TY", "temperature", "°C", pa.float64(), "toy 2 m air temperature"),),
    primary="temperature",
    curated_table="quarterly_toy_temperature_features",
    description="A toy product for the registration test",
)

FEATURES = (
    # The headline feature: the quality check measures its NULL share (and not toy_warm_hours', which reads
    # the same primary variable and would be checked too if no row were marked).
    FeatureSpec(
        "toy_temp_max", NAME, "temperature", "hourly", "°C", "highest hourly TT_TY", "maximum", critical=True
    ),
    FeatureSpec(
        "toy_warm_hours",
        NAME,
        "temperature",
        "hourly",
        "hours",
        "valid hours with TT_TY > 10 °C",
        "toy",
        "int",
    ),
)


def build(p: ir.Table, shape: Shape) -> ir.Table:
    t = p.temperature
    hourly = p.group_by(KEY).aggregate(
        _nh=t.count(), toy_temp_max=t.max(), toy_warm_hours=ibis.ifelse(t > WARM_C, 1, 0).sum()
    )
    j = attach(stations(p), hourly)
    return j.select(
        KEY,
        toy_temp_max=gate(j.toy_temp_max, j._nh, shape.min_hours),
        toy_warm_hours=gate(count_or_zero(j.toy_warm_hours), j._nh, shape.min_hours),
    )


def register() -> None:
    from weatherinsight.features import definitions

    definitions.register(PRODUCT, FEATURES, build)


def unregister() -> None:
    from weatherinsight.features import definitions
    from weatherinsight.warehouse import tables

    definitions.unregister(NAME)
    tables.forget_curated_table(NAME)
