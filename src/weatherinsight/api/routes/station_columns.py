"""``include_station=true``: station name, latitude, longitude and height valid for each row's quarter.

The location valid at the quarter's end comes from the location history (``station_locations``); a station
without history, or a quarter before its first period, falls back to the station list's description (the
row of ``station_metadata`` valid the longest), so every row of a known station is placed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, select

from weatherinsight.periods import Period, PeriodKind
from weatherinsight.warehouse.tables import station_locations, station_metadata

#: Appended after the feature columns, in this order.
STATION_COLUMNS = ("station_name", "latitude", "longitude", "height_m")
STATION_TYPES = (pa.string(), pa.float64(), pa.float64(), pa.float64())
STATION_FIELDS: dict[str, dict[str, Any]] = {
    "station_name": {"unit": "", "definition": "station name valid at the quarter's end"},
    "latitude": {"unit": "°", "definition": "station latitude (WGS84) valid at the quarter's end"},
    "longitude": {"unit": "°", "definition": "station longitude (WGS84) valid at the quarter's end"},
    "height_m": {"unit": "m", "definition": "station height above sea level valid at the quarter's end"},
}


def station_values(
    conn: Connection, keys: Sequence[tuple[int, int, int]], kind: PeriodKind = "quarter"
) -> list[tuple[Any, ...]]:
    """(name, latitude, longitude, height_m) for every (station_id, year, quarter) — or (station_id, year,
    number) of a month, season or year of ``kind``; Nones for unknown stations."""
    ids = sorted({k[0] for k in keys})
    if not ids:
        return []
    history: dict[int, list[Any]] = defaultdict(list)
    sl = station_locations.c
    for r in conn.execute(select(station_locations).where(sl.station_id.in_(ids)).order_by(sl.valid_from)):
        history[r.station_id].append(r)
    current: dict[int, tuple[Any, ...]] = {}
    sm = station_metadata.c
    rows = conn.execute(select(station_metadata).where(sm.station_id.in_(ids)).order_by(sm.product))
    best: dict[int, Any] = {}
    for r in rows:  # the description valid the longest (open-ended first), as /v1/stations shows it
        if r.station_id not in best or _rank(r) > _rank(best[r.station_id]):
            best[r.station_id] = r
    for sid, r in best.items():
        current[sid] = (r.name, r.lat, r.lon, r.height)
    out = []
    for sid, year, quarter in keys:
        end = Period(kind, year, quarter).last_day  # the quarter's (period's) last day
        valid = [h for h in history.get(sid, ()) if h.valid_from <= end]
        if valid:
            h = valid[-1]
            out.append((h.name or current.get(sid, (None,))[0], h.latitude, h.longitude, h.height_m))
        else:
            out.append(current.get(sid, (None, None, None, None)))
    return out


def _rank(row: Any) -> tuple[bool, date]:
    return (row.valid_to is None, row.valid_to or date.min)


def with_station(
    conn: Connection, columns: list[str], rows: Sequence[Sequence[Any]], kind: PeriodKind = "quarter"
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """``columns`` and ``rows`` (which hold station_id, year, quarter) with the station columns appended; for
    a month, season or year (``kind``) the location valid at the period's end."""
    s, y, q = columns.index("station_id"), columns.index("year"), columns.index("quarter")
    values = station_values(conn, [(r[s], r[y], r[q]) for r in rows], kind)
    return [*columns, *STATION_COLUMNS], [(*r, *v) for r, v in zip(rows, values, strict=True)]
