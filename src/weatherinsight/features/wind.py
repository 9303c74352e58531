"""Wind features (product wind: F → ``wind_speed``, D → ``wind_direction``): one Ibis definition.

Speed features gate on F's valid hours. Direction features (docs/design.md §5) use hours with F ≥ 0.5 m/s and a
present D as unit vectors in meteorological degrees (u = sin D, v = cos D); their valid hours are the hours
where both F and D are present (docs/design.md §5: "use the hours where both variables are present"); a calm hour
(F < 0.5, DWD writes D = 0) with its D counts as valid but stays out of the vectors.
A D outside 0..360 (DWD's undocumented 990 "no direction") counts as absent.
``wind_dir_mean`` = atan2(ū, v̄) in [0, 360); the mean components are rounded to 12 decimals first so that
cancelling directions (350°/10°) give 0°, not an engine-dependent 0°/359.999…°. ``wind_dir_steadiness``
= |(ū, v̄)|. ``dominant_sector``: 45° sectors centred on N = 0°, computed exactly on the integer degrees
as ((2·D + 45) mod 720) div 90; a tie goes to the first of N, NE, E, SE, S, SW, W, NW.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from weatherinsight.dwd.products import PRODUCTS
from weatherinsight.features.common import KEY, Shape, attach, count_or_zero, daily, gate, stations

PRODUCT = PRODUCTS["wind"]
CALM_MS = 0.5
WINDY_MS = 10.8
SECTORS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
VECTOR_DECIMALS = 12


def _n(cond: ir.BooleanValue) -> ir.IntegerValue:
    return ibis.ifelse(cond, 1, 0).sum()


def build(p: ir.Table, shape: Shape) -> ir.Table:
    """One row per station with the gated wind features."""
    f = p.wind_speed
    d_ok = p.wind_direction.notnull() & (p.wind_direction >= 0) & (p.wind_direction <= 360)
    dir_valid = f.notnull() & d_ok
    hourly = p.group_by(KEY).aggregate(
        _nh=f.count(),
        wind_speed_mean=f.mean(),
        wind_speed_p90=f.quantile(0.9),
        wind_speed_max=f.max(),
        calm_hours=_n(f < CALM_MS),
        _nh_dir=_n(dir_valid),
    )

    moving = p.filter(f >= CALM_MS, d_ok)
    rad = moving.wind_direction.cast("float64").radians()
    vec = moving.mutate(_u=rad.sin(), _v=rad.cos())
    vectors = vec.group_by(KEY).aggregate(_mu=vec._u.mean(), _mv=vec._v.mean())

    sec = moving.mutate(_sector=((moving.wind_direction.cast("int64") * 2 + 45) % 720) // 90)
    counts = sec.group_by([KEY, "_sector"]).aggregate(_cnt=sec.count())
    rank = ibis.window(group_by=KEY, order_by=[ibis.desc("_cnt"), ibis.asc("_sector")])
    ranked = counts.mutate(_rank=ibis.row_number().over(rank))
    top = ranked.filter(ranked._rank == 0).select(KEY, _top=ranked._sector)

    days = daily(p, "wind_speed", shape)
    windy = days.group_by(KEY).aggregate(_nd=days.d.count(), windy_days=_n(days["mean"] >= WINDY_MS))

    j = attach(stations(p), hourly, vectors, top, windy)

    def gh(v: ir.Value) -> ir.Value:
        return gate(v, j._nh, shape.min_hours)

    def gd(v: ir.Value) -> ir.Value:
        return gate(v, j._nh_dir, shape.min_hours)

    deg = j._mu.round(VECTOR_DECIMALS).atan2(j._mv.round(VECTOR_DECIMALS)).degrees()
    deg = ibis.ifelse(deg < 0, deg + 360.0, deg)
    deg = ibis.ifelse(deg >= 360.0, deg - 360.0, deg)
    sector = ibis.cases(*((j._top == i, name) for i, name in enumerate(SECTORS)), else_=ibis.null("string"))
    return j.select(
        KEY,
        wind_speed_mean=gh(j.wind_speed_mean),
        wind_speed_p90=gh(j.wind_speed_p90),
        wind_speed_max=gh(j.wind_speed_max),
        calm_hours=gh(count_or_zero(j.calm_hours)),
        windy_days=gate(count_or_zero(j.windy_days), j._nd, shape.min_days),
        wind_dir_mean=gd(deg),
        wind_dir_steadiness=gd((j._mu * j._mu + j._mv * j._mv).sqrt()),
        dominant_sector=gd(sector),
    )
