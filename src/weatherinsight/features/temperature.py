"""Temperature features (product air_temperature, variable TT_TU → ``temperature``): one Ibis definition.

All features are daily-based (docs/design.md §5). TG is the rounded mean of a valid day's hours (it agrees with
DWD's TMK, the mean of the same 24 readings). TX/TN — and every index built on them (tx_mean, tn_mean, txx,
tnn, dtr_mean, frost/ice/summer/hot days, tropical nights) — are DWD's daily TXK/TNK where the station has
them for the day (extremes of the continuous record, ``features.daily_kl``), else the max/min of the valid
day's hourly readings; ``tx_tn_source`` says which. Thresholds follow ETCCDI (hot days: DWD's "heißer Tag");
degree days follow VDI 3807 (heating) and fixed bases 18 °C / 5 °C.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.features.common import KEY, Shape, attach, count_or_zero, daily, gate, stations
from weatherinsight.features.daily_kl import FLAG, day_source, merge_days

PRODUCT = PRODUCTS["air_temperature"]


def _n(cond: ir.BooleanValue) -> ir.IntegerValue:
    return ibis.ifelse(cond, 1, 0).sum()


def build(p: ir.Table, shape: Shape, kl: ir.Table | None = None) -> ir.Table:
    """One row per station with the gated temperature features (``kl``: the period's framed daily KL days)."""
    days = daily(p, "temperature", shape)
    tg = days["mean"]
    means = days.group_by(KEY).aggregate(
        _nd=days.d.count(),
        tg_mean=tg.mean(),
        # VDI 3807: only days below the 15 °C heating limit contribute (20 − TG)
        heating_degree_days=ibis.ifelse(tg < 15, 20 - tg, 0.0).sum(),
        cooling_degree_days=ibis.greatest(tg - 18, 0.0).sum(),
        growing_degree_days=ibis.greatest(tg - 5, 0.0).sum(),
    )
    ext = merge_days(days, {"tx": "max", "tn": "min"}, kl, {"tx": "temperature_max", "tn": "temperature_min"})
    tx, tn = ext.tx, ext.tn
    extremes = ext.group_by(KEY).aggregate(
        _nx=ext.d.count(),
        _nkl=ext[FLAG].sum(),
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
    )
    j = attach(stations(p), means, extremes)

    def g(v: ir.Value) -> ir.Value:
        return gate(v, j._nd, shape.min_days)

    def gx(v: ir.Value) -> ir.Value:
        return gate(v, j._nx, shape.min_days)

    cols = {"tg_mean": g(j.tg_mean)}
    cols.update({name: gx(j[name]) for name in ("tx_mean", "tn_mean", "txx", "tnn", "dtr_mean")})
    counted_x = ("frost_days", "ice_days", "summer_days", "hot_days", "tropical_nights")
    cols.update({name: gx(count_or_zero(j[name])) for name in counted_x})
    degree = ("heating_degree_days", "cooling_degree_days", "growing_degree_days")
    cols.update({name: g(count_or_zero(j[name])) for name in degree})
    cols["tx_tn_source"] = day_source(j._nx, j._nkl, shape.min_days)
    return j.select(KEY, **cols)
