"""Precipitation features (product precipitation: R1 → ``precipitation_height``, RS_IND → indicator).

The daily indices (wet/heavy/very heavy days, rx1day, rx5day, SDII, dry/wet spells) take DWD's daily RSK
where the station has it for the day (DWD's 06–06 UTC climatological day, ``features.daily_kl``), else the
valid UTC day's hourly sum; ``rr_source`` says which. ``precip_total`` is the sum of the valid hourly days.
Daily totals are rounded to 9 decimals before the 1/10/20 mm thresholds (so 0.4+0.1+0.1+0.3+0.1 mm is a
wet day). ``precip_total`` sums valid days only; spells are ended by invalid days; ``rx5day`` needs five
consecutive valid days inside the quarter; ``sdii`` is NULL without a wet day. ``rx1hour`` and
``precip_hours`` are hourly-based, each gated on its own variable.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.features.common import (
    KEY,
    Shape,
    attach,
    count_or_zero,
    daily,
    gate,
    longest_run,
    max_window_sum,
    stations,
)
from weatherinsight.features.daily_kl import FLAG, day_source, merge_days

PRODUCT = PRODUCTS["precipitation"]
WET_MM = 1.0


def _n(cond: ir.BooleanValue) -> ir.IntegerValue:
    return ibis.ifelse(cond, 1, 0).sum()


def build(p: ir.Table, shape: Shape, kl: ir.Table | None = None) -> ir.Table:
    """One row per station with the gated precipitation features (``kl``: the period's framed KL days)."""
    rr = p.precipitation_height
    ind = p.precipitation_indicator
    hourly = p.group_by(KEY).aggregate(
        _nh=rr.count(),
        rx1hour=rr.max(),
        _nh_ind=ind.count(),
        precip_hours=_n(ind == 1),
    )
    days = daily(p, "precipitation_height", shape)
    sums = days.group_by(KEY).aggregate(_nd=days.d.count(), precip_total=days["sum"].sum())
    rr = merge_days(days, {"rr": "sum"}, kl, {"rr": "precipitation_height"})
    total = rr.rr
    wet = total >= WET_MM
    agg = rr.group_by(KEY).aggregate(
        _nr=rr.d.count(),
        _nkl=rr[FLAG].sum(),
        wet_days=_n(wet),
        heavy_precip_days=_n(total >= 10),
        very_heavy_precip_days=_n(total >= 20),
        rx1day=total.max(),
        _wet_total=ibis.ifelse(wet, total, 0.0).sum(),
    )
    dry_runs = longest_run(rr, rr.rr < WET_MM, "max_dry_spell_days")
    wet_runs = longest_run(rr, rr.rr >= WET_MM, "max_wet_spell_days")
    rx5 = max_window_sum(rr, "rr", 5, "rx5day")
    j = attach(stations(p), hourly, sums, agg, dry_runs, wet_runs, rx5)

    def g(v: ir.Value) -> ir.Value:
        return gate(v, j._nr, shape.min_days)

    wet_days = count_or_zero(j.wet_days)
    sdii = ibis.ifelse(wet_days > 0, j._wet_total / wet_days, ibis.null("float64"))
    return j.select(
        KEY,
        precip_total=gate(j.precip_total, j._nd, shape.min_days),
        wet_days=g(wet_days),
        heavy_precip_days=g(count_or_zero(j.heavy_precip_days)),
        very_heavy_precip_days=g(count_or_zero(j.very_heavy_precip_days)),
        rx1day=g(j.rx1day),
        rx5day=g(j.rx5day),
        sdii=g(sdii),
        max_dry_spell_days=g(count_or_zero(j.max_dry_spell_days)),
        max_wet_spell_days=g(count_or_zero(j.max_wet_spell_days)),
        rx1hour=gate(j.rx1hour, j._nh, shape.min_hours),
        precip_hours=gate(count_or_zero(j.precip_hours), j._nh_ind, shape.min_hours),
        rr_source=day_source(j._nr, j._nkl, shape.min_days),
    )
