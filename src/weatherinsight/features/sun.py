"""Sunshine features (product sun: SD_SO → ``sunshine_duration``, minutes of sunshine in the hour).

Daily-based (docs/design.md §5). DWD's older sun files hold only the 18 hours stamped 03–20 UTC, so a valid
day needs ``min_valid_hours_per_day`` scaled to 18 hours (20 of 24 → 15 valid hours, ``Rules.for_product``);
its sunshine SD = Σ SD_SO / 60 hours (hours outside the file's window are night: 0). The features gate on the
valid days like every other daily-based feature: ``sunshine_hours`` (Σ SD), ``sunshine_day_max``,
``sunny_days`` (SD ≥ 8 h) and ``dull_days`` (SD < 1 h).

The astronomically possible sunshine N0 of a UTC day is the day length of FAO-56 (Allen et al. 1998,
eq. 24, 25 and 34), from the station latitude φ and the day of year J:

    δ = 0.409 · sin(2π · J / 365 − 1.39)          solar declination (rad)
    ωs = arccos(−tan φ · tan δ)                   sunset hour angle (rad), argument clipped to [−1, 1]
    N0 = 24 / π · ωs                              hours

``possible_sunshine_hours`` = Σ N0 over the valid days and ``sunshine_share`` = sunshine_hours /
possible_sunshine_hours. The latitude is the station's location valid at the period's last day
(``Rules.latitudes``, read from ``station_locations`` by the aggregation); without it both are NULL. N0 per
station and day is computed in the framing stage (``framing.station_days``), so ``build`` sees no date.
"""

from __future__ import annotations

import math
from datetime import date

import ibis
import ibis.expr.types as ir

from weatherinsight.features.common import KEY, Shape, attach, count_or_zero, daily, gate, r9, stations

SUNNY_HOURS = 8.0
DULL_HOURS = 1.0
MINUTES_PER_HOUR = 60.0
#: FAO-56 eq. 24: declination amplitude (rad) and phase.
DECLINATION_AMPLITUDE = 0.409
DECLINATION_PHASE = 1.39


def possible_sunshine_hours(latitude: float, day: date) -> float:
    """N0 of one day (FAO-56 eq. 24/25/34), in hours; the plain-Python twin of the Ibis expression below."""
    j = day.timetuple().tm_yday
    delta = DECLINATION_AMPLITUDE * math.sin(2.0 * math.pi * j / 365.0 - DECLINATION_PHASE)
    x = max(-1.0, min(1.0, -math.tan(math.radians(latitude)) * math.tan(delta)))
    return 24.0 / math.pi * math.acos(x)


def possible_sunshine(lat: ir.FloatingValue, j: ir.IntegerValue) -> ir.FloatingValue:
    """N0 in hours of latitude ``lat`` (°N) on day of year ``j`` (the Ibis form of ``possible_sunshine_hours``)."""
    delta = (j.cast("float64") * (2.0 * math.pi / 365.0) - DECLINATION_PHASE).sin() * DECLINATION_AMPLITUDE
    x = -(lat.radians().tan()) * delta.tan()
    x = ibis.greatest(ibis.literal(-1.0), ibis.least(ibis.literal(1.0), x))
    # GREATEST/LEAST skip NULLs on both engines: an unknown latitude must stay NULL, not become a clip bound.
    return ibis.ifelse(lat.isnull(), ibis.null("float64"), x.acos() * (24.0 / math.pi))


def _n(cond: ir.BooleanValue) -> ir.IntegerValue:
    return ibis.ifelse(cond, 1, 0).sum()


def build(p: ir.Table, shape: Shape, station_days: ir.Table) -> ir.Table:
    """One row per station with the gated sunshine features (``station_days``: N0 per station and day of the
    period, ``framing.station_days``, computed in the framing stage so this SQL holds no date or latitude)."""
    days = daily(p, "sunshine_duration", shape)
    days = days.mutate(_sd=r9(days["sum"] / MINUTES_PER_HOUR))
    n0 = station_days.select(_s0=station_days[KEY], _d0=station_days.d, _n0=station_days.n0)
    days = days.left_join(n0, [days[KEY] == n0._s0, days.d == n0._d0]).drop("_s0", "_d0")
    per = days.group_by(KEY).aggregate(
        _nd=days.d.count(),
        sunshine_hours=days._sd.sum(),
        possible_sunshine_hours=days._n0.sum(),
        sunshine_day_max=days._sd.max(),
        sunny_days=_n(days._sd >= SUNNY_HOURS),
        dull_days=_n(days._sd < DULL_HOURS),
    )
    j = attach(stations(p), per)

    def gd(v: ir.Value) -> ir.Value:
        return gate(v, j._nd, shape.min_days)

    share = ibis.ifelse(
        j.possible_sunshine_hours > 0, j.sunshine_hours / j.possible_sunshine_hours, ibis.null("float64")
    )
    return j.select(
        KEY,
        sunshine_hours=gd(j.sunshine_hours),
        possible_sunshine_hours=gd(j.possible_sunshine_hours),
        sunshine_share=gd(share),
        sunshine_day_max=gd(j.sunshine_day_max),
        sunny_days=gd(count_or_zero(j.sunny_days)),
        dull_days=gd(count_or_zero(j.dull_days)),
    )
