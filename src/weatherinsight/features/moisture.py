"""Moisture features (product moisture, the TF "computed humidity" product): one Ibis definition.

Each hourly feature gates on its own variable (RF_STD, TD_STD, VP_STD, ABSF_STD, TF_STD);
``dewpoint_depression_mean`` (TT_STD − TD_STD) uses, and gates on, the hours where both are present.
``rh_daily_min_mean`` is daily-based on RF_STD (rounded daily minimum).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.features.common import KEY, Shape, attach, count_or_zero, daily, gate, stations

PRODUCT = PRODUCTS["moisture"]
HUMID_PCT = 95.0
DRY_PCT = 30.0
MUGGY_HPA = 18.8


def _n(cond: ir.BooleanValue) -> ir.IntegerValue:
    return ibis.ifelse(cond, 1, 0).sum()


def build(p: ir.Table, shape: Shape) -> ir.Table:
    """One row per station with the gated moisture features."""
    rf, td, vp = p.relative_humidity, p.dew_point, p.vapour_pressure
    both = p.temperature.notnull() & td.notnull()
    hourly = p.group_by(KEY).aggregate(
        _n_rf=rf.count(),
        rh_mean=rf.mean(),
        humid_hours=_n(rf >= HUMID_PCT),
        dry_hours=_n(rf < DRY_PCT),
        _n_td=td.count(),
        dewpoint_mean=td.mean(),
        _n_vp=vp.count(),
        vapour_pressure_mean=vp.mean(),
        muggy_hours=_n(vp > MUGGY_HPA),
        _n_ab=p.absolute_humidity.count(),
        abs_humidity_mean=p.absolute_humidity.mean(),
        _n_tf=p.wet_bulb_temperature.count(),
        wet_bulb_max=p.wet_bulb_temperature.max(),
        _n_both=_n(both),
        dewpoint_depression_mean=(p.temperature - td).mean(),
    )
    days = daily(p, "relative_humidity", shape)
    rh_days = days.group_by(KEY).aggregate(_nd=days.d.count(), rh_daily_min_mean=days["min"].mean())
    j = attach(stations(p), hourly, rh_days)
    m = shape.min_hours
    return j.select(
        KEY,
        rh_mean=gate(j.rh_mean, j._n_rf, m),
        rh_daily_min_mean=gate(j.rh_daily_min_mean, j._nd, shape.min_days),
        dewpoint_mean=gate(j.dewpoint_mean, j._n_td, m),
        vapour_pressure_mean=gate(j.vapour_pressure_mean, j._n_vp, m),
        abs_humidity_mean=gate(j.abs_humidity_mean, j._n_ab, m),
        wet_bulb_max=gate(j.wet_bulb_max, j._n_tf, m),
        dewpoint_depression_mean=gate(j.dewpoint_depression_mean, j._n_both, m),
        humid_hours=gate(count_or_zero(j.humid_hours), j._n_rf, m),
        dry_hours=gate(count_or_zero(j.dry_hours), j._n_rf, m),
        muggy_hours=gate(count_or_zero(j.muggy_hours), j._n_vp, m),
    )
