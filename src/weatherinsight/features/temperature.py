"""Temperature features (product air_temperature, variable TT_TU → ``temperature``): one Ibis definition.

All features are daily-based (docs/design.md §5): TG/TX/TN are the rounded mean/max/min of a valid day's hours;
thresholds follow ETCCDI; degree days follow VDI 3807 (heating) and fixed bases 18 °C / 5 °C.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.features.common import KEY, Rules, attach, count_or_zero, daily, gate, stations

PRODUCT = PRODUCTS["air_temperature"]


def _n(cond: ir.BooleanValue) -> ir.IntegerValue:
    return ibis.ifelse(cond, 1, 0).sum()


def build(p: ir.Table, rules: Rules) -> ir.Table:
    """One row per station with the gated temperature features."""
    days = daily(p, "temperature", rules)
    tg, tx, tn = days["mean"], days["max"], days["min"]
    agg = days.group_by(KEY).aggregate(
        _nd=days.d.count(),
        tg_mean=tg.mean(),
        tx_mean=tx.mean(),
        tn_mean=tn.mean(),
        txx=tx.max(),
        tnn=tn.min(),
        dtr_mean=(tx - tn).mean(),
        frost_days=_n(tn < 0),
        ice_days=_n(tx < 0),
        summer_days=_n(tx > 25),
        hot_days=_n(tx >= 30),
        tropical_nights=_n(tn > 20),
        # VDI 3807: only days below the 15 °C heating limit contribute (20 − TG)
        heating_degree_days=ibis.ifelse(tg < 15, 20 - tg, 0.0).sum(),
        cooling_degree_days=ibis.greatest(tg - 18, 0.0).sum(),
        growing_degree_days=ibis.greatest(tg - 5, 0.0).sum(),
    )
    j = attach(stations(p), agg)

    def g(v: ir.Value) -> ir.Value:
        return gate(v, j._nd, rules.min_days)

    plain = ("tg_mean", "tx_mean", "tn_mean", "txx", "tnn", "dtr_mean")
    counted = (
        "frost_days",
        "ice_days",
        "summer_days",
        "hot_days",
        "tropical_nights",
        "heating_degree_days",
        "cooling_degree_days",
        "growing_degree_days",
    )
    cols = {name: g(j[name]) for name in plain}
    cols.update({name: g(count_or_zero(j[name])) for name in counted})
    return j.select(KEY, **cols)
