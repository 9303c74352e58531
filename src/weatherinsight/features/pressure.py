"""Pressure features (product pressure: P → ``pressure_sea_level``, P0 → ``pressure_station``).

P-based features gate on P's valid hours (a -999 in P but not in P0 counts against P only);
``p_station_mean`` gates on P0. ``pmsl_std`` is the sample standard deviation (n − 1).
``pmsl_max_drop_24h`` = max over hours t of P(t − 24 h) − P(t), both hours inside the quarter and valid
(an exact self-join on the hour index, so a missing hour never pairs with the wrong neighbour).
``pmsl_daily_range_mean`` is daily-based: mean over valid days of (rounded max − rounded min).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.features.common import KEY, Shape, attach, count_or_zero, daily, gate, stations

PRODUCT = PRODUCTS["pressure"]
LOW_HPA = 1000.0
HIGH_HPA = 1025.0


def _n(cond: ir.BooleanValue) -> ir.IntegerValue:
    return ibis.ifelse(cond, 1, 0).sum()


def build(p: ir.Table, shape: Shape) -> ir.Table:
    """One row per station with the gated pressure features."""
    pm = p.pressure_sea_level
    hourly = p.group_by(KEY).aggregate(
        _nh=pm.count(),
        pmsl_mean=pm.mean(),
        pmsl_min=pm.min(),
        pmsl_max=pm.max(),
        pmsl_std=pm.std(how="sample"),
        low_pressure_hours=_n(pm < LOW_HPA),
        high_pressure_hours=_n(pm > HIGH_HPA),
        _nh0=p.pressure_station.count(),
        p_station_mean=p.pressure_station.mean(),
    )
    valid = p.filter(pm.notnull()).select(KEY, "h", _p=pm)
    before = valid.select(_sid=valid[KEY], _h=valid.h + 24, _p0=valid._p)
    pairs = valid.join(before, [valid[KEY] == before._sid, valid.h == before._h])
    drop = pairs.group_by(KEY).aggregate(pmsl_max_drop_24h=(pairs._p0 - pairs._p).max())

    days = daily(p, "pressure_sea_level", shape)
    ranges = days.group_by(KEY).aggregate(
        _nd=days.d.count(), pmsl_daily_range_mean=(days["max"] - days["min"]).mean()
    )
    j = attach(stations(p), hourly, drop, ranges)

    def gh(v: ir.Value) -> ir.Value:
        return gate(v, j._nh, shape.min_hours)

    return j.select(
        KEY,
        pmsl_mean=gh(j.pmsl_mean),
        pmsl_min=gh(j.pmsl_min),
        pmsl_max=gh(j.pmsl_max),
        pmsl_std=gh(j.pmsl_std),
        p_station_mean=gate(j.p_station_mean, j._nh0, shape.min_hours),
        pmsl_daily_range_mean=gate(j.pmsl_daily_range_mean, j._nd, shape.min_days),
        pmsl_max_drop_24h=gh(j.pmsl_max_drop_24h),
        low_pressure_hours=gh(count_or_zero(j.low_pressure_hours)),
        high_pressure_hours=gh(count_or_zero(j.high_pressure_hours)),
    )
