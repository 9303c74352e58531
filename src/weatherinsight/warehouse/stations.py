"""Station metadata and location history → ``station_metadata`` and ``station_locations`` (docs/design.md §4).

Sources: the product's station description lists (``<CODE>_Stundenwerte_Beschreibung_Stationen.txt`` beside
the zips, parsed by ``weatherinsight.dwd.stations``) and the ``Metadaten_Geographie`` table of every parsed
zip (one row per location period). Both loads are idempotent upserts keyed like the tables' unique
constraints — ``(product, station_id)`` and ``(station_id, valid_from)`` — so re-runs never duplicate rows.
Location periods from all files (and those already stored) are merged into one non-overlapping timeline per
station, so a coarse period in one file never hides or overlaps the finer periods of another.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, Table, and_, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from weatherinsight.dwd.metadata import GEOGRAPHY_SCHEMA
from weatherinsight.dwd.stations import parse_station_list
from weatherinsight.errors import DwdFormatError
from weatherinsight.logs import get_logger
from weatherinsight.warehouse.tables import station_locations as sl
from weatherinsight.warehouse.tables import station_metadata as sm

log = get_logger(__name__)

# Geography rows as stored: DWD's Metadaten_Geographie columns plus the file they came from.
_STORED_SCHEMA = GEOGRAPHY_SCHEMA.append(pa.field("source_file", pa.string()))


@dataclass(frozen=True)
class StationLoadResult:
    metadata_inserted: int
    metadata_updated: int
    locations_inserted: int
    locations_updated: int
    bad_lists: list[tuple[str, str]]  # (path, reason)


def merge_station_lists(tables: Sequence[tuple[str, pa.Table]]) -> dict[int, dict[str, Any]]:
    """One row per station from several lists (historical/ and recent/): the row with the latest ``valid_to``
    wins, so the newer list's name, height and position are kept."""
    best: dict[int, dict[str, Any]] = {}
    for source, table in tables:
        for row in table.to_pylist():
            sid = int(row["station_id"])
            row = {**row, "source_file": source}
            cur = best.get(sid)
            if cur is None or (row["valid_to"] or date.max) >= (cur["valid_to"] or date.max):
                best[sid] = row
    return best


def _span_days(row: dict[str, Any]) -> float:
    """Length of a period in days; an open period (``valid_to`` NULL) is the longest possible."""
    if row["valid_to"] is None:
        return float("inf")
    return float((row["valid_to"] - row["valid_from"]).days)


def _station_timeline(periods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One non-overlapping timeline from the location periods of one station, however many files gave them.

    The time axis is cut at every period start and every day after a period end; each piece takes the
    *shortest* period covering it (a file that splits 1927–1960 into 1927–1930 and 1930–1960 knows more than
    one that lists 1927–1960 as a whole), on equal spans the one given last (callers pass newer sources
    last). Consecutive pieces of the same period join again, so unchanged DWD periods come out as they went in.
    Days no file covers stay a gap: we never invent a location.
    """
    cuts: set[date] = set()
    for p in periods:
        cuts.add(p["valid_from"])
        if p["valid_to"] is not None and p["valid_to"] < date.max:
            cuts.add(p["valid_to"] + timedelta(days=1))
    starts = sorted(cuts)
    out: list[dict[str, Any]] = []
    chosen_prev: int | None = None
    for i, start in enumerate(starts):
        end = starts[i + 1] - timedelta(days=1) if i + 1 < len(starts) else None
        covering = [
            (idx, p)
            for idx, p in enumerate(periods)
            if p["valid_from"] <= start
            and (p["valid_to"] is None or (end is not None and p["valid_to"] >= end))
        ]
        if not covering:
            chosen_prev = None
            continue
        idx, best = min(covering, key=lambda c: (_span_days(c[1]), -c[0]))
        if chosen_prev == idx and out:
            out[-1]["valid_to"] = best["valid_to"] if end is None else end
        else:
            out.append({**best, "valid_from": start, "valid_to": best["valid_to"] if end is None else end})
        chosen_prev = idx
    return out


def merge_locations(
    tables: Iterable[pa.Table], source: str | None = None
) -> dict[tuple[int, date], dict[str, Any]]:
    """Location periods from all files, merged per station into one non-overlapping timeline
    (``_station_timeline``), keyed by (station_id, valid_from). No period of any file is lost: every day any
    file places the station somewhere is covered by exactly one output period."""
    per_station: dict[int, list[dict[str, Any]]] = {}
    for t in tables:
        for row in t.to_pylist():
            sid = int(row["station_id"])
            per_station.setdefault(sid, []).append({**row, "source_file": row.get("source_file", source)})
    out: dict[tuple[int, date], dict[str, Any]] = {}
    for sid, periods in per_station.items():
        for period in _station_timeline(periods):
            out[(sid, period["valid_from"])] = period
    return out


def _insert_or_update(
    conn: Connection, table: Table, rows: list[dict[str, Any]], *, keys: tuple[str, ...]
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE: products are staged in parallel and share stations, so a row
    another transaction inserted between our SELECT and INSERT must update, not fail on the unique key."""
    dialect = conn.dialect.name
    if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - only the two supported databases
        conn.execute(table.insert(), rows)
        return
    stmt: Any = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    updatable = [c for c in rows[0] if c not in keys]
    conn.execute(
        stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in updatable}),
        rows,
    )


def upsert_station_metadata(
    conn: Connection,
    product: str,
    stations: dict[int, dict[str, Any]],
    *,
    geography_fallback: dict[int, dict[str, Any]],
) -> tuple[int, int]:
    """Insert or update one ``station_metadata`` row per (product, station). Stations that appear only in zips
    (no list row) get name/height/position from their current Metadaten_Geographie period."""
    rows: dict[int, dict[str, Any]] = {}
    for sid, g in geography_fallback.items():
        rows[sid] = {
            "name": g.get("station_name"),
            "state": None,
            "height": g.get("height_m"),
            "lat": g.get("latitude"),
            "lon": g.get("longitude"),
            "valid_from": None,
            "valid_to": None,
            "source_file": g.get("source_file"),
        }
    for sid, r in stations.items():
        rows[sid] = {
            "name": r["station_name"],
            "state": r["state"],
            "height": r["height_m"],
            "lat": r["latitude"],
            "lon": r["longitude"],
            "valid_from": r["valid_from"],
            "valid_to": r["valid_to"],
            "source_file": r["source_file"],
        }
    if not rows:
        return 0, 0
    now = datetime.now(UTC)
    existing = {
        r.station_id: r._mapping
        for r in conn.execute(select(sm).where(sm.c.product == product, sm.c.station_id.in_(list(rows))))
    }
    inserted = updated = 0
    inserts = []
    for sid, values in rows.items():
        old = existing.get(sid)
        if old is None:
            inserts.append({"product": product, "station_id": sid, **values, "updated_at": now})
            inserted += 1
        elif any(old[k] != v for k, v in values.items() if k != "source_file"):
            conn.execute(update(sm).where(sm.c.id == old["id"]).values(**values, updated_at=now))
            updated += 1
    if inserts:
        _insert_or_update(conn, sm, inserts, keys=("product", "station_id"))
    return inserted, updated


def upsert_station_locations(
    conn: Connection, locations: dict[tuple[int, date], dict[str, Any]]
) -> tuple[int, int]:
    """Make ``station_locations`` hold one non-overlapping timeline per station: the stored periods and the
    new ones are merged (``merge_locations``, the new ones given last so they win on equal spans), rows the
    merge no longer has are deleted, changed ones updated, new ones inserted. Returns (inserted, updated)."""
    if not locations:
        return 0, 0
    stations = sorted({k[0] for k in locations})
    existing = {
        (r.station_id, r.valid_from): r._mapping
        for r in conn.execute(select(sl).where(sl.c.station_id.in_(stations)))
    }
    stored = pa.Table.from_pylist(
        [
            {
                "station_id": k[0],
                "valid_from": k[1],
                "valid_to": r["valid_to"],
                "height_m": r["height_m"],
                "latitude": r["latitude"],
                "longitude": r["longitude"],
                "station_name": r["name"],
                "source_file": r["source_file"],
            }
            for k, r in existing.items()
        ],
        schema=_STORED_SCHEMA,
    )
    fresh = pa.Table.from_pylist(
        [{**row, "station_id": k[0], "valid_from": k[1]} for k, row in locations.items()],
        schema=_STORED_SCHEMA,
    )
    merged = merge_locations([stored, fresh])
    for sid, valid_from in sorted(set(existing) - set(merged)):
        conn.execute(delete(sl).where(and_(sl.c.station_id == sid, sl.c.valid_from == valid_from)))
    inserted = updated = 0
    inserts = []
    for (sid, valid_from), row in sorted(merged.items()):
        values = {
            "valid_to": row["valid_to"],
            "height_m": row["height_m"],
            "latitude": row["latitude"],
            "longitude": row["longitude"],
            "name": row["station_name"],
            "source_file": row.get("source_file"),
        }
        old = existing.get((sid, valid_from))
        if old is None:
            inserts.append({"station_id": sid, "valid_from": valid_from, **values})
            inserted += 1
        elif any(old[k] != v for k, v in values.items() if k != "source_file"):
            conn.execute(
                update(sl).where(and_(sl.c.station_id == sid, sl.c.valid_from == valid_from)).values(**values)
            )
            updated += 1
    if inserts:
        _insert_or_update(conn, sl, inserts, keys=("station_id", "valid_from"))
    return inserted, updated


def load_stations(
    conn: Connection,
    product: str,
    *,
    station_lists: Sequence[tuple[str, bytes]],
    geography: Sequence[pa.Table],
) -> StationLoadResult:
    """Parse the station lists and upsert both tables in the caller's transaction.

    A list that does not parse is reported (path, reason) and skipped; the zips' geography still loads.
    """
    parsed: list[tuple[str, pa.Table]] = []
    bad: list[tuple[str, str]] = []
    for path, data in station_lists:
        try:
            parsed.append((path.rsplit("/", 1)[-1], parse_station_list(data, file_name=path)))
        except DwdFormatError as exc:
            bad.append((path, str(exc)))
            log.warning("stations.bad_list", path=path, reason=str(exc))
    locations = merge_locations(geography)
    current: dict[int, dict[str, Any]] = {}
    for (sid, _vf), row in sorted(locations.items()):
        if row["valid_to"] is None or sid not in current:
            current[sid] = row
    mi, mu = upsert_station_metadata(conn, product, merge_station_lists(parsed), geography_fallback=current)
    li, lu = upsert_station_locations(conn, locations)
    return StationLoadResult(mi, mu, li, lu, bad)


def latitudes_on(conn: Connection, day: date) -> dict[int, float]:
    """station_id → latitude (°N) of the location period covering ``day``, for every station that has one."""
    rows = conn.execute(
        select(sl.c.station_id, sl.c.latitude).where(
            sl.c.valid_from <= day,
            (sl.c.valid_to.is_(None)) | (sl.c.valid_to >= day),
            sl.c.latitude.is_not(None),
        )
    )
    return {int(sid): float(lat) for sid, lat in rows}
