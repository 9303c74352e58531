"""The feature catalog (v1): every quarterly feature's name, product, unit, one-line definition and standard.

One catalog feeds the curated table columns (``warehouse/tables.py``), the ``feature_catalog`` table and
the API's ``/catalog``. The computations live in one definition per product (``features/<product>.py``).
Rules for every number: docs/design.md §5 (valid hours/days, 80 % coverage gates, counts never scaled).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from weatherinsight.dwd.products import PRODUCTS

Kind = Literal["hourly", "daily"]
SqlType = Literal["float", "int", "str"]


@dataclass(frozen=True)
class FeatureSpec:
    """One curated feature column."""

    name: str
    product: str
    variable: str  # canonical input column (registry); the coverage gate uses this variable
    kind: Kind  # hourly-based or daily-based (docs/design.md §5) — decides the 80 % gate
    unit: str
    definition: str
    standard: str
    sql_type: SqlType = "float"

    @property
    def precision(self) -> int:
        """Decimal places served (values are rounded half-to-even on output; the database keeps full precision).

        The rule: counts are whole numbers; shares (unit ``1``) keep 3 decimals; every other measured unit keeps
        1 decimal, the resolution of the DWD hourly observations (0.1 °C, 0.1 mm, 0.1 m/s, 0.1 hPa, 1 %).
        """
        return PRECISION_BY_UNIT.get(self.unit, 1) if self.sql_type == "float" else 0


#: Decimal places served per unit (see ``FeatureSpec.precision``); a unit not listed keeps 1 decimal.
PRECISION_BY_UNIT: dict[str, int] = {
    "1": 3,
    "%": 1,
    "°": 0,
    "K": 1,
    "K·d": 1,
    "g/m³": 1,
    "hPa": 1,
    "h": 2,
    "okta": 2,
}


def _f(
    name: str,
    product: str,
    variable: str,
    kind: Kind,
    unit: str,
    definition: str,
    standard: str,
    sql_type: SqlType = "float",
) -> FeatureSpec:
    return FeatureSpec(name, product, variable, kind, unit, definition, standard, sql_type)


_T, _R, _W, _P, _M = "air_temperature", "precipitation", "wind", "pressure", "moisture"
_S, _N = "sun", "cloudiness"
# Sun (features/sun.py): a day's sunshine SD = Σ SD_SO / 60 of its valid hours (a valid day has ≥ 20 valid
# hours, as for every product); N0 = the astronomically possible sunshine of that UTC day at the station's
# latitude (FAO-56 eq. 24/25/34, stated in docs/design.md §5.1); NULL where the latitude is unknown.
_SD = "; SD = Σ hourly SD_SO / 60 of the UTC day"
# Cloudiness (features/cloudiness.py): only V_N 0–8 is a cover amount; -1 (sky not visible) is not one.
_NM = "; day mean of the hourly V_N 0–8 (a valid day has ≥ 20 such hours)"
_ETCCDI = "ETCCDI"
# Where each day value comes from (issue #17, features/daily_kl.py): TX/TN and RR are DWD's official daily KL
# values (TXK/TNK: extremes of the continuous record; RSK: DWD's 06–06 UTC climatological day) where the
# station has them for the day, else derived from the valid UTC day's hourly readings; a source column says
# which per row (``tx_tn_source``, ``rr_source``). TG is always the mean of the 24 hourly TT_TU (what DWD's TMK is).
_TX = (
    "; TX = DWD's daily TXK where present, else the highest hourly TT_TU of the valid UTC day (tx_tn_source)"
)
_TN = "; TN = DWD's daily TNK where present, else the lowest hourly TT_TU of the valid UTC day (tx_tn_source)"
_TXTN = "; TX/TN = DWD's daily TXK/TNK where present, else the hourly TT_TU extremes of the valid UTC day (tx_tn_source)"
_RR = (
    "; RR = DWD's daily RSK (06–06 UTC day) where present, else Σ hourly R1 of the valid UTC day (rr_source)"
)
_TG = "; TG = mean of the valid UTC day's hourly TT_TU (DWD's TMK is the mean of the same 24 readings)"
_SOURCE = (
    "where the row's day values came from: 'daily_kl' (all DWD daily KL values), 'hourly' (all derived "
    "from hourly readings), 'mixed'; NULL when the day-based features are"
)

CATALOG: tuple[FeatureSpec, ...] = (
    # temperature (TT_TU → temperature)
    _f(
        "tg_mean",
        _T,
        "temperature",
        "daily",
        "°C",
        "mean of daily mean temperatures (TG)" + _TG,
        "ET-SCI TMm",
    ),
    _f(
        "tx_mean",
        _T,
        "temperature",
        "daily",
        "°C",
        "mean of daily maximum temperatures (TX)" + _TX,
        "ET-SCI TXm",
    ),
    _f(
        "tn_mean",
        _T,
        "temperature",
        "daily",
        "°C",
        "mean of daily minimum temperatures (TN)" + _TN,
        "ET-SCI TNm",
    ),
    _f(
        "txx", _T, "temperature", "daily", "°C", "highest daily maximum temperature (TXx)" + _TX, "ETCCDI TXx"
    ),
    _f("tnn", _T, "temperature", "daily", "°C", "lowest daily minimum temperature (TNn)" + _TN, "ETCCDI TNn"),
    _f(
        "dtr_mean",
        _T,
        "temperature",
        "daily",
        "°C",
        "mean daily temperature range TX − TN (DTR)" + _TXTN,
        _ETCCDI,
    ),
    _f(
        "frost_days",
        _T,
        "temperature",
        "daily",
        "days",
        "valid days with TN < 0 °C (FD)" + _TN,
        _ETCCDI,
        "int",
    ),
    _f(
        "ice_days", _T, "temperature", "daily", "days", "valid days with TX < 0 °C (ID)" + _TX, _ETCCDI, "int"
    ),
    _f(
        "summer_days",
        _T,
        "temperature",
        "daily",
        "days",
        "valid days with TX > 25 °C (SU)" + _TX,
        _ETCCDI,
        "int",
    ),
    _f(
        "hot_days",
        _T,
        "temperature",
        "daily",
        "days",
        "valid days with TX ≥ 30 °C" + _TX,
        "DWD heißer Tag (TX ≥ 30 °C)",
        "int",
    ),
    _f(
        "tropical_nights",
        _T,
        "temperature",
        "daily",
        "days",
        "valid days with TN > 20 °C (TR)" + _TN,
        _ETCCDI,
        "int",
    ),
    _f(
        "heating_degree_days",
        _T,
        "temperature",
        "daily",
        "K·d",
        "Σ (20 − TG) over valid days with TG < 15 °C",
        "VDI 3807",
    ),
    _f(
        "cooling_degree_days",
        _T,
        "temperature",
        "daily",
        "K·d",
        "Σ max(TG − 18, 0) over valid days",
        "base 18 °C",
    ),
    _f(
        "growing_degree_days",
        _T,
        "temperature",
        "daily",
        "K·d",
        "Σ max(TG − 5, 0) over valid days",
        "base 5 °C",
    ),
    _f(
        "tx_tn_source",
        _T,
        "temperature",
        "daily",
        "source",
        "TX/TN-based features: " + _SOURCE,
        "provenance",
        "str",
    ),
    # precipitation (R1 → precipitation_height; RS_IND → precipitation_indicator)
    _f(
        "precip_total",
        _R,
        "precipitation_height",
        "daily",
        "mm",
        "sum of daily totals over valid days; RR = Σ hourly R1 of the valid UTC day (DWD's RSK day runs 06–06 UTC)",
        "total (ETCCDI PRCPTOT sums wet days only)",
    ),
    _f(
        "wet_days",
        _R,
        "precipitation_height",
        "daily",
        "days",
        "valid days with RR ≥ 1 mm (R1mm)" + _RR,
        "ETCCDI Rnnmm, nn = 1",
        "int",
    ),
    _f(
        "heavy_precip_days",
        _R,
        "precipitation_height",
        "daily",
        "days",
        "valid days with RR ≥ 10 mm (R10mm)" + _RR,
        _ETCCDI,
        "int",
    ),
    _f(
        "very_heavy_precip_days",
        _R,
        "precipitation_height",
        "daily",
        "days",
        "valid days with RR ≥ 20 mm (R20mm)" + _RR,
        _ETCCDI,
        "int",
    ),
    _f("rx1day", _R, "precipitation_height", "daily", "mm", "highest daily total (Rx1day)" + _RR, _ETCCDI),
    _f(
        "rx5day",
        _R,
        "precipitation_height",
        "daily",
        "mm",
        "highest RR sum over 5 consecutive days, all valid and inside the quarter (Rx5day; a window never "
        "crosses an invalid day or the quarter's bounds)" + _RR,
        _ETCCDI,
    ),
    _f(
        "sdii",
        _R,
        "precipitation_height",
        "daily",
        "mm/day",
        "total on wet days / wet days (SDII); NULL without wet days" + _RR,
        _ETCCDI,
    ),
    _f(
        "max_dry_spell_days",
        _R,
        "precipitation_height",
        "daily",
        "days",
        "longest run of consecutive valid days with RR < 1 mm inside the quarter (CDD); invalid days end a run"
        + _RR,
        _ETCCDI,
        "int",
    ),
    _f(
        "max_wet_spell_days",
        _R,
        "precipitation_height",
        "daily",
        "days",
        "longest run of consecutive valid days with RR ≥ 1 mm inside the quarter (CWD); invalid days end a run"
        + _RR,
        _ETCCDI,
        "int",
    ),
    _f("rx1hour", _R, "precipitation_height", "hourly", "mm", "highest hourly total", "hourly maximum"),
    _f(
        "precip_hours",
        _R,
        "precipitation_indicator",
        "hourly",
        "hours",
        "valid hours with precipitation indicator RS_IND = 1",
        "DWD RS_IND",
        "int",
    ),
    _f(
        "rr_source",
        _R,
        "precipitation_height",
        "daily",
        "source",
        "daily RR-based features (not precip_total): " + _SOURCE,
        "provenance",
        "str",
    ),
    # wind (F → wind_speed, D → wind_direction)
    _f("wind_speed_mean", _W, "wind_speed", "hourly", "m/s", "mean of hourly wind speeds", "arithmetic mean"),
    _f(
        "wind_speed_p90",
        _W,
        "wind_speed",
        "hourly",
        "m/s",
        "90th percentile of hourly wind speeds (linear)",
        "percentile",
    ),
    _f("wind_speed_max", _W, "wind_speed", "hourly", "m/s", "highest hourly mean wind speed", "maximum"),
    _f("calm_hours", _W, "wind_speed", "hourly", "hours", "valid hours with F < 0.5 m/s", "WMO calm", "int"),
    _f(
        "windy_days",
        _W,
        "wind_speed",
        "daily",
        "days",
        "valid days with daily mean F ≥ 10.8 m/s (Beaufort 6)",
        "Beaufort 6",
        "int",
    ),
    _f(
        "wind_dir_mean",
        _W,
        "wind_speed",
        "hourly",
        "°",
        "circular mean of D over hours with F ≥ 0.5 m/s and D present, in [0, 360)",
        "unit-vector mean",
    ),
    _f(
        "wind_dir_steadiness",
        _W,
        "wind_speed",
        "hourly",
        "1",
        "length of the mean unit vector of D over non-calm hours (0–1)",
        "resultant length",
    ),
    _f(
        "dominant_sector",
        _W,
        "wind_speed",
        "hourly",
        "sector",
        "most frequent 45° sector (N, NE, E, SE, S, SW, W, NW) of non-calm hours; ties to the first",
        "8-point rose",
        "str",
    ),
    # pressure (P → pressure_sea_level, P0 → pressure_station)
    _f("pmsl_mean", _P, "pressure_sea_level", "hourly", "hPa", "mean sea-level pressure", "arithmetic mean"),
    _f("pmsl_min", _P, "pressure_sea_level", "hourly", "hPa", "lowest hourly sea-level pressure", "minimum"),
    _f("pmsl_max", _P, "pressure_sea_level", "hourly", "hPa", "highest hourly sea-level pressure", "maximum"),
    _f(
        "pmsl_std",
        _P,
        "pressure_sea_level",
        "hourly",
        "hPa",
        "sample standard deviation of hourly sea-level pressure",
        "sample std (n−1)",
    ),
    _f(
        "p_station_mean",
        _P,
        "pressure_station",
        "hourly",
        "hPa",
        "mean station-level pressure (P0)",
        "arithmetic mean",
    ),
    _f(
        "pmsl_daily_range_mean",
        _P,
        "pressure_sea_level",
        "daily",
        "hPa",
        "mean over valid days of daily max − min sea-level pressure",
        "daily range",
    ),
    _f(
        "pmsl_max_drop_24h",
        _P,
        "pressure_sea_level",
        "hourly",
        "hPa",
        "largest fall P(t−24 h) − P(t), both hours valid and inside the quarter",
        "24 h tendency",
    ),
    _f(
        "low_pressure_hours",
        _P,
        "pressure_sea_level",
        "hourly",
        "hours",
        "valid hours with P < 1000 hPa",
        "threshold",
        "int",
    ),
    _f(
        "high_pressure_hours",
        _P,
        "pressure_sea_level",
        "hourly",
        "hours",
        "valid hours with P > 1025 hPa",
        "threshold",
        "int",
    ),
    # moisture (TF product)
    _f("rh_mean", _M, "relative_humidity", "hourly", "%", "mean relative humidity", "arithmetic mean"),
    _f(
        "rh_daily_min_mean",
        _M,
        "relative_humidity",
        "daily",
        "%",
        "mean of daily minimum relative humidity",
        "daily minimum",
    ),
    _f("dewpoint_mean", _M, "dew_point", "hourly", "°C", "mean dew point", "arithmetic mean"),
    _f(
        "vapour_pressure_mean",
        _M,
        "vapour_pressure",
        "hourly",
        "hPa",
        "mean vapour pressure",
        "arithmetic mean",
    ),
    _f(
        "abs_humidity_mean",
        _M,
        "absolute_humidity",
        "hourly",
        "g/m³",
        "mean absolute humidity",
        "arithmetic mean",
    ),
    _f(
        "wet_bulb_max",
        _M,
        "wet_bulb_temperature",
        "hourly",
        "°C",
        "highest hourly wet-bulb temperature",
        "maximum",
    ),
    _f(
        "dewpoint_depression_mean",
        _M,
        "dew_point",
        "hourly",
        "K",
        "mean of TT − TD over hours where both are present",
        "dew-point depression",
    ),
    _f(
        "humid_hours",
        _M,
        "relative_humidity",
        "hourly",
        "hours",
        "valid hours with RF ≥ 95 %",
        "threshold",
        "int",
    ),
    _f(
        "dry_hours",
        _M,
        "relative_humidity",
        "hourly",
        "hours",
        "valid hours with RF < 30 %",
        "threshold",
        "int",
    ),
    _f(
        "muggy_hours",
        _M,
        "vapour_pressure",
        "hourly",
        "hours",
        "valid hours with VP > 18.8 hPa",
        "Schwüle (DWD)",
        "int",
    ),
    # sun (SD_SO → sunshine_duration, minutes per hour)
    _f(
        "sunshine_hours",
        _S,
        "sunshine_duration",
        "daily",
        "h",
        "sum of daily sunshine SD over valid days" + _SD,
        "sum",
    ),
    _f(
        "possible_sunshine_hours",
        _S,
        "sunshine_duration",
        "daily",
        "h",
        "sum of the astronomically possible sunshine N0 over the same valid days; NULL without the station latitude",
        "FAO-56 eq. 34",
    ),
    _f(
        "sunshine_share",
        _S,
        "sunshine_duration",
        "daily",
        "1",
        "sunshine_hours / possible_sunshine_hours (relative sunshine duration, 0–1)",
        "relative sunshine",
    ),
    _f(
        "sunshine_day_max",
        _S,
        "sunshine_duration",
        "daily",
        "h",
        "highest daily sunshine SD" + _SD,
        "maximum",
    ),
    _f(
        "sunny_days",
        _S,
        "sunshine_duration",
        "daily",
        "days",
        "valid days with SD ≥ 8 h" + _SD,
        "threshold (8 h)",
        "int",
    ),
    _f(
        "dull_days",
        _S,
        "sunshine_duration",
        "daily",
        "days",
        "valid days with SD < 1 h" + _SD,
        "threshold (1 h)",
        "int",
    ),
    # cloudiness (V_N → cloud_cover, okta; V_N_I → cloud_cover_method)
    _f(
        "cloud_cover_mean",
        _N,
        "cloud_cover",
        "hourly",
        "okta",
        "mean of hourly total cloud cover V_N over hours with V_N 0–8 (gated on those hours)",
        "arithmetic mean",
    ),
    _f(
        "clear_days",
        _N,
        "cloud_cover",
        "daily",
        "days",
        "valid days with mean cover < 1.6 okta (heiterer Tag)" + _NM,
        "DWD heiterer Tag (< 1/5)",
        "int",
    ),
    _f(
        "overcast_days",
        _N,
        "cloud_cover",
        "daily",
        "days",
        "valid days with mean cover > 6.4 okta (trüber Tag)" + _NM,
        "DWD trüber Tag (> 4/5)",
        "int",
    ),
    _f(
        "sky_obscured_hours",
        _N,
        "cloud_cover",
        "hourly",
        "hours",
        "hours with V_N = -1 (sky not visible: fog, heavy precipitation)",
        "DWD V_N = -1",
        "int",
    ),
)

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
    for f in CATALOG:
        if f.name == name:
            return f
    raise KeyError(name)


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


def register_features(specs: tuple[FeatureSpec, ...]) -> None:
    """Append a registered product's catalog rows at run time (tests, plug-ins); names stay unique."""
    global CATALOG
    _check((*CATALOG, *specs))
    CATALOG = (*CATALOG, *specs)


def unregister_features(product: str) -> None:
    """Drop the catalog rows of a product added by ``register_features``."""
    global CATALOG
    CATALOG = tuple(f for f in CATALOG if f.product != product)
