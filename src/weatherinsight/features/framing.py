"""The framing stage: the ONLY place a period's dates enter a feature computation.

An aggregation runs in two stages (``features/definitions.py``):

1. **Framing** (this module, per period): the staged rows become the framed hour table (``h``, ``d`` indices
   since the period start, rows outside dropped); the staged daily KL rows become the framed KL days; for a
   definition that needs station facts (sun), the possible sunshine N0 of every station × day of the period is
   computed here from the station latitudes and the day of year. Each is stored by the engine under a FIXED
   table name with a fixed schema (``HOURS``, ``KL_DAYS``, ``STATION_DAYS``). The period's dates come from a
   one-row table (``period_table``, registered as ``PERIOD``), so even these expressions hold no date.
2. **Features** (``definitions.build_features``): the product's definition over those tables, given only the
   period's counts (``common.Shape``). Its compiled SQL therefore depends on (product definition, ``Shape``,
   input schemas) and nothing else, which is what lets the DuckDB engine reuse it across periods of the same
   length (``engines/sql_cache.py``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from weatherinsight.dwd.products import Product
from weatherinsight.features.common import KEY, Rules, r9
from weatherinsight.features.sun import possible_sunshine
from weatherinsight.periods import Period
from weatherinsight.quarters import Quarter

#: Fixed names of the framed tables (an engine stores each input under its name, once per aggregation).
HOURS = "wi_framed_hours"
KL_DAYS = "wi_framed_kl_days"
STATION_DAYS = "wi_framed_station_days"
#: The engine registers the station latitudes (``latitude_table``) under this name for the framing stage.
LATITUDES = "wi_station_latitudes"
LATITUDE_SCHEMA = pa.schema([pa.field(KEY, pa.int32()), pa.field("latitude", pa.float64())])
#: ... and the period's facts (``period_table``) under this one.
PERIOD = "wi_period"
PERIOD_SCHEMA = pa.schema(
    [
        pa.field("start_epoch", pa.int64()),
        pa.field("end_epoch", pa.int64()),
        pa.field("start_date", pa.date32()),
        pa.field("end_date", pa.date32()),
        pa.field("start_doy", pa.int64()),  # day of year of the first day (1..366)
        pa.field("year_days", pa.int64()),  # days of the first day's year (365, 366)
    ]
)


def period_table(period: Period | Quarter) -> pa.Table:
    """The period's facts as the one-row table an engine registers under ``PERIOD``: the framing expressions
    read them from there, so they too are the same for every period (their SQL is cached per schema)."""
    start, end = period.start.date(), period.end.date()
    year_days = 366 if date(start.year, 12, 31).timetuple().tm_yday == 366 else 365
    values = [
        int(period.start.timestamp()),
        int(period.end.timestamp()),
        start,
        end,
        start.timetuple().tm_yday,
        year_days,
    ]
    return pa.table(
        [pa.array([v], f.type) for v, f in zip(values, PERIOD_SCHEMA, strict=True)], schema=PERIOD_SCHEMA
    )


def prepare(staged: ir.Table, product: Product, period: ir.Table) -> ir.Table:
    """The period's staged rows with integer hour (``h``) and day (``d``) indices; rows outside are dropped
    (``period``: the registered ``period_table``)."""
    secs = staged.ts.epoch_seconds().cast("int64")
    bounds = period.select(_p0=period.start_epoch, _p1=period.end_epoch)
    framed = staged.mutate(_secs=secs).cross_join(bounds)
    framed = framed.filter(framed._secs >= framed._p0, framed._secs < framed._p1)
    h = ((framed._secs - framed._p0) // 3600).cast("int64")
    cols: dict[str, Any] = {
        KEY: framed.station_id.cast("int32"),
        "h": h,
        "d": (h // 24).cast("int64"),
        "qn": framed.qn.cast("int32"),
        "recent": ibis.ifelse(framed.source_period == "recent", 1, 0),
    }
    for column in product.value_columns:
        cols[column] = framed[column]
    return framed.select(**cols)


def frame_days(staged_daily: ir.Table, period: ir.Table) -> ir.Table:
    """The period's days of the staged daily KL table with the day index ``d`` (days since the period start)."""
    bounds = period.select(_p0=period.start_date, _p1=period.end_date)
    t = staged_daily.cross_join(bounds)
    t = t.filter(t.date >= t._p0, t.date < t._p1)
    t = t.mutate(station_id=t.station_id.cast("int32"), d=t.date.delta(t._p0, unit="day").cast("int64"))
    return t.drop("_p0", "_p1")


def latitude_table(rules: Rules) -> pa.Table:
    """``Rules.latitudes`` as the Arrow table an engine registers under ``LATITUDES`` (may be empty)."""
    ids = [sid for sid, _ in rules.latitudes]
    lats = [lat for _, lat in rules.latitudes]
    return pa.table([pa.array(ids, pa.int32()), pa.array(lats, pa.float64())], schema=LATITUDE_SCHEMA)


def day_of_year(
    d: ir.IntegerValue, start_doy: ir.IntegerValue, year_days: ir.IntegerValue
) -> ir.IntegerValue:
    """J (1..366) of day index ``d``; wraps at the start year's end so a span across New Year stays right."""
    return (d + (start_doy - 1)) % year_days + 1


def station_days(hours: ir.Table, latitudes: ir.Table, period: ir.Table) -> ir.Table:
    """``station_id, d, n0`` for every station × day present in the framed hours: the possible sunshine N0
    (hours, 9 decimals) at the station's latitude on that day; NULL where the latitude is unknown."""
    days = hours.select(KEY, "d").distinct()
    lat = latitudes.select(_ls=latitudes[KEY].cast("int32"), _lat=latitudes.latitude.cast("float64"))
    cal = period.select(_j0=period.start_doy, _yd=period.year_days)
    j = days.left_join(lat, days[KEY] == lat._ls).cross_join(cal)
    return j.select(KEY, "d", n0=r9(possible_sunshine(j._lat, day_of_year(j.d, j._j0, j._yd))))
