"""Catalog rows (data) of the products whose day values prefer DWD's daily KL values: temperature and
precipitation. ``features.catalog`` serves them; the computations are ``features/temperature.py`` and
``features/precipitation.py``. Rules for every number: docs/design.md §5.
"""

from __future__ import annotations

from weatherinsight.features.feature_spec import FeatureSpec

_T, _R = "air_temperature", "precipitation"
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

ROWS: tuple[FeatureSpec, ...] = (
    # temperature (TT_TU → temperature)
    FeatureSpec(
        "tg_mean",
        _T,
        "temperature",
        "daily",
        "°C",
        "mean of daily mean temperatures (TG)" + _TG,
        "ET-SCI TMm",
        critical=True,
    ),
    FeatureSpec(
        "tx_mean",
        _T,
        "temperature",
        "daily",
        "°C",
        "mean of daily maximum temperatures (TX)" + _TX,
        "ET-SCI TXm",
        critical=True,
    ),
    FeatureSpec(
        "tn_mean",
        _T,
        "temperature",
        "daily",
        "°C",
        "mean of daily minimum temperatures (TN)" + _TN,
        "ET-SCI TNm",
        critical=True,
    ),
    FeatureSpec(
        "txx", _T, "temperature", "daily", "°C", "highest daily maximum temperature (TXx)" + _TX, "ETCCDI TXx"
    ),
    FeatureSpec(
        "tnn", _T, "temperature", "daily", "°C", "lowest daily minimum temperature (TNn)" + _TN, "ETCCDI TNn"
    ),
    FeatureSpec(
        "dtr_mean",
        _T,
        "temperature",
        "daily",
        "°C",
        "mean daily temperature range TX − TN (DTR)" + _TXTN,
        _ETCCDI,
    ),
    FeatureSpec(
        "frost_days",
        _T,
        "temperature",
        "daily",
        "days",
        "valid days with TN < 0 °C (FD)" + _TN,
        _ETCCDI,
        "int",
    ),
    FeatureSpec(
        "ice_days", _T, "temperature", "daily", "days", "valid days with TX < 0 °C (ID)" + _TX, _ETCCDI, "int"
    ),
    FeatureSpec(
        "summer_days",
        _T,
        "temperature",
        "daily",
        "days",
        "valid days with TX > 25 °C (SU)" + _TX,
        _ETCCDI,
        "int",
    ),
    FeatureSpec(
        "hot_days",
        _T,
        "temperature",
        "daily",
        "days",
        "valid days with TX ≥ 30 °C" + _TX,
        "DWD heißer Tag (TX ≥ 30 °C)",
        "int",
    ),
    FeatureSpec(
        "tropical_nights",
        _T,
        "temperature",
        "daily",
        "days",
        "valid days with TN > 20 °C (TR)" + _TN,
        _ETCCDI,
        "int",
    ),
    FeatureSpec(
        "heating_degree_days",
        _T,
        "temperature",
        "daily",
        "K·d",
        "Σ (20 − TG) over valid days with TG < 15 °C",
        "VDI 3807",
    ),
    FeatureSpec(
        "cooling_degree_days",
        _T,
        "temperature",
        "daily",
        "K·d",
        "Σ max(TG − 18, 0) over valid days",
        "base 18 °C",
    ),
    FeatureSpec(
        "growing_degree_days",
        _T,
        "temperature",
        "daily",
        "K·d",
        "Σ max(TG − 5, 0) over valid days",
        "base 5 °C",
    ),
    FeatureSpec(
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
    FeatureSpec(
        "precip_total",
        _R,
        "precipitation_height",
        "daily",
        "mm",
        "sum of daily totals over valid days; RR = Σ hourly R1 of the valid UTC day (DWD's RSK day runs 06–06 UTC)",
        "total (ETCCDI PRCPTOT sums wet days only)",
        critical=True,
    ),
    FeatureSpec(
        "wet_days",
        _R,
        "precipitation_height",
        "daily",
        "days",
        "valid days with RR ≥ 1 mm (R1mm)" + _RR,
        "ETCCDI Rnnmm, nn = 1",
        "int",
    ),
    FeatureSpec(
        "heavy_precip_days",
        _R,
        "precipitation_height",
        "daily",
        "days",
        "valid days with RR ≥ 10 mm (R10mm)" + _RR,
        _ETCCDI,
        "int",
    ),
    FeatureSpec(
        "very_heavy_precip_days",
        _R,
        "precipitation_height",
        "daily",
        "days",
        "valid days with RR ≥ 20 mm (R20mm)" + _RR,
        _ETCCDI,
        "int",
    ),
    FeatureSpec(
        "rx1day", _R, "precipitation_height", "daily", "mm", "highest daily total (Rx1day)" + _RR, _ETCCDI
    ),
    FeatureSpec(
        "rx5day",
        _R,
        "precipitation_height",
        "daily",
        "mm",
        "highest RR sum over 5 consecutive days, all valid and inside the quarter (Rx5day; a window never "
        "crosses an invalid day or the quarter's bounds)" + _RR,
        _ETCCDI,
    ),
    FeatureSpec(
        "sdii",
        _R,
        "precipitation_height",
        "daily",
        "mm/day",
        "total on wet days / wet days (SDII); NULL without wet days" + _RR,
        _ETCCDI,
    ),
    FeatureSpec(
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
    FeatureSpec(
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
    FeatureSpec(
        "rx1hour", _R, "precipitation_height", "hourly", "mm", "highest hourly total", "hourly maximum"
    ),
    FeatureSpec(
        "precip_hours",
        _R,
        "precipitation_indicator",
        "hourly",
        "hours",
        "valid hours with precipitation indicator RS_IND = 1",
        "DWD RS_IND",
        "int",
    ),
    FeatureSpec(
        "rr_source",
        _R,
        "precipitation_height",
        "daily",
        "source",
        "daily RR-based features (not precip_total): " + _SOURCE,
        "provenance",
        "str",
    ),
)
