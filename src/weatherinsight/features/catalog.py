"""The feature catalog (v1): every quarterly feature's name, product, unit, one-line definition and standard.

The public place to read feature metadata: ``catalog()``, ``catalog_index()``, ``features_for``, ``feature``,
``critical_features``. Read the catalog through them at call time: ``CATALOG`` is rebound when a product
registers its rows, so a module that imported the name (or copied it into a dict at import) would not see them.
One catalog feeds the curated table columns (``warehouse/tables.py``), the ``feature_catalog`` table, the
API's ``/catalog`` and the quality checks. It owns the lookups, the registration of a product's rows at run
time and the checks every row passes; the shipped rows are data in ``catalog_rows_daily_kl`` and
``catalog_rows_hourly``, their shape is ``feature_spec.FeatureSpec``. The computations live in one definition
per product (``features/<product>.py``). Rules for every number: docs/design.md §5 (valid hours/days, 80 %
coverage gates, counts never scaled).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

from weatherinsight.dwd.products import PRODUCTS, get_product
from weatherinsight.features import catalog_rows_daily_kl, catalog_rows_hourly
from weatherinsight.features.feature_spec import PRECISION_BY_UNIT, FeatureSpec, Kind, SqlType

__all__ = [
    "CATALOG",
    "COVERAGE_COLUMNS",
    "PERCENT_ANOMALY_UNITS",
    "PRECISION_BY_UNIT",
    "FeatureSpec",
    "Kind",
    "SqlType",
    "catalog",
    "catalog_generation",
    "catalog_index",
    "critical_features",
    "feature",
    "features_for",
    "on_catalog_change",
    "percent_anomaly",
    "register_features",
    "unregister_features",
]

#: Every feature, in catalog order (the shipped products' rows, then rows registered at run time).
CATALOG: tuple[FeatureSpec, ...] = (*catalog_rows_daily_kl.ROWS, *catalog_rows_hourly.ROWS)

#: Columns every curated row carries besides the features (docs/design.md §4), in table order.
COVERAGE_COLUMNS: tuple[tuple[str, SqlType, str], ...] = (
    ("hours_expected", "int", "hours from quarter start to quarter end (UTC)"),
    ("hours_valid", "int", "hours with a non-NULL primary variable"),
    ("days_valid", "int", "days with ≥ 20 valid hours of the primary variable"),
    ("coverage", "float", "hours_valid / hours_expected"),
    ("qn_min", "int", "lowest DWD quality level among the quarter's staged rows"),
    ("qn_max", "int", "highest DWD quality level among the quarter's staged rows"),
    ("share_recent", "float", "share of staged rows from un-finalised recent files"),
)


def catalog() -> tuple[FeatureSpec, ...]:
    """Every feature in catalog order, including the rows registered until now."""
    return CATALOG


@functools.cache
def catalog_index() -> Mapping[str, tuple[int, FeatureSpec]]:
    """Feature name → (position in catalog order, row), built once and rebuilt after every (un)registration."""
    return {f.name: (i, f) for i, f in enumerate(CATALOG)}


def features_for(product: str) -> tuple[FeatureSpec, ...]:
    """The features of one product, in catalog order."""
    if product not in PRODUCTS:
        raise KeyError(product)
    return tuple(f for f in CATALOG if f.product == product)


#: Units whose anomaly is also served as a percentage of the normal (100 × value / normal): precipitation
#: amounts (precip_total, rx1day, rx5day, rx1hour, …), as climate services report precipitation anomalies.
PERCENT_ANOMALY_UNITS = frozenset({"mm"})


def percent_anomaly(spec: FeatureSpec) -> bool:
    """True when ``spec``'s anomaly is served as a percentage of its normal as well (``PERCENT_ANOMALY_UNITS``)."""
    return spec.unit in PERCENT_ANOMALY_UNITS and spec.sql_type == "float"


def feature(name: str) -> FeatureSpec:
    """The catalog row of feature ``name`` (``KeyError`` when unknown)."""
    return catalog_index()[name][1]


def critical_features(product: str) -> tuple[str, ...]:
    """The features of ``product`` whose NULL share the quality check measures, in catalog order.

    The rows registered with ``critical=True``; a product that marks none falls back to the numeric
    features of its primary variable.
    """
    specs = features_for(product)
    marked = tuple(f.name for f in specs if f.critical)
    if marked:
        return marked
    primary = get_product(product).primary
    return tuple(f.name for f in specs if f.variable == primary and f.sql_type != "str")


def _check(catalog: tuple[FeatureSpec, ...]) -> None:
    names = [f.name for f in catalog]
    if len(names) != len(set(names)):
        raise ValueError(f"duplicate feature names: {sorted({n for n in names if names.count(n) > 1})}")
    for f in catalog:
        if f.product not in PRODUCTS:
            raise ValueError(f"{f.name}: unknown product {f.product!r} (register the product first)")
        if f.variable not in PRODUCTS[f.product].value_columns:
            raise ValueError(f"{f.name}: {f.product} has no variable {f.variable!r}")


_check(CATALOG)


#: Callables run after every (un)registration: the caches other layers derive from the catalog per product
#: name (the API's field descriptions, rounding digits, SELECTs, Arrow types, column lists). This layer may not
#: import them, so they subscribe (``on_catalog_change``); a product unregistered and registered again with
#: other rows must not be served from what was derived from its old rows.
_LISTENERS: list[Callable[[], None]] = []
_generation = 0


def on_catalog_change(listener: Callable[[], None]) -> None:
    """Run ``listener`` (typically a cache's ``cache_clear``) after every (un)registration of catalog rows."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def catalog_generation() -> int:
    """A number that changes with every (un)registration: holders of per-instance caches derived from the
    catalog (``api.published.PublishedCache``) compare it to drop what they hold."""
    return _generation


def _changed() -> None:
    """The one hook every (un)registration passes: rebuild the index and clear every derived cache."""
    global _generation
    _generation += 1
    catalog_index.cache_clear()
    for listener in tuple(_LISTENERS):
        listener()


def register_features(specs: tuple[FeatureSpec, ...]) -> None:
    """Append a registered product's catalog rows at run time (tests, plug-ins); names stay unique."""
    global CATALOG
    _check((*CATALOG, *specs))
    CATALOG = (*CATALOG, *specs)
    _changed()


def unregister_features(product: str) -> None:
    """Drop the catalog rows of a product added by ``register_features``."""
    global CATALOG
    CATALOG = tuple(f for f in CATALOG if f.product != product)
    _changed()
