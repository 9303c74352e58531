"""Cloudiness features (product cloudiness: V_N → ``cloud_cover`` in okta, V_N_I → ``cloud_cover_method``).

Only V_N 0–8 is a cover amount; DWD writes -1 when the sky cannot be seen (fog, heavy snow), so those hours
count in ``sky_obscured_hours`` (gated on the hours with any V_N) and nowhere else. ``cloud_cover_mean`` is hourly-based and gates on the
hours with V_N 0–8. A valid day has ≥ ``min_valid_hours_per_day`` such hours; its mean cover decides the
DWD day classes (Klimatologische Kenntage): heiterer Tag (clear) mean < 1.6 okta (< 1/5 of the sky), trüber
Tag (overcast) mean > 6.4 okta (> 4/5). The coverage columns count hours with any V_N (-1 included).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from weatherinsight.features.common import KEY, Shape, attach, count_or_zero, daily, gate, stations

CLEAR_OKTA = 1.6
OVERCAST_OKTA = 6.4
SKY_OBSCURED = -1


def _n(cond: ir.BooleanValue) -> ir.IntegerValue:
    return ibis.ifelse(cond, 1, 0).sum()


def build(p: ir.Table, shape: Shape) -> ir.Table:
    """One row per station with the gated cloudiness features."""
    raw = p.cloud_cover
    cover = ibis.ifelse(raw >= 0, raw.cast("float64"), ibis.null("float64"))
    hourly = p.group_by(KEY).aggregate(
        _nh=cover.count(),
        _nany=raw.count(),
        cloud_cover_mean=cover.mean(),
        sky_obscured_hours=_n(raw == SKY_OBSCURED),
    )
    days = daily(p, cover, shape)
    per_day = days.group_by(KEY).aggregate(
        _nd=days.d.count(),
        clear_days=_n(days["mean"] < CLEAR_OKTA),
        overcast_days=_n(days["mean"] > OVERCAST_OKTA),
    )
    j = attach(stations(p), hourly, per_day)
    return j.select(
        KEY,
        cloud_cover_mean=gate(j.cloud_cover_mean, j._nh, shape.min_hours),
        clear_days=gate(count_or_zero(j.clear_days), j._nd, shape.min_days),
        overcast_days=gate(count_or_zero(j.overcast_days), j._nd, shape.min_days),
        sky_obscured_hours=gate(count_or_zero(j.sky_obscured_hours), j._nany, shape.min_hours),
    )
