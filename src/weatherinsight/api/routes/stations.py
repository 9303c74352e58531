"""``/v1/stations``: DWD stations (from the station lists) with filters, and one station's location history.

Filters: ``state`` (Bundesland, case-insensitive), ``bbox=min_lon,min_lat,max_lon,max_lat``,
``near=lat,lon`` with ``radius_km`` (great-circle, default 25 km; a bounding box narrows the SQL first),
``active=2024Q1`` (the station list's von/bis dates overlap the quarter), ``product`` and ``name`` (part of the
name, ignoring case and accents). Ordered by station_id, keyset-paged; with ``near`` ordered by distance
(``distance_km``), paged by offset.
"""

from __future__ import annotations

import math
import unicodedata
from collections import defaultdict
from datetime import date, timedelta
from typing import Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field
from sqlalchemy import Connection, and_, func, or_, select

from weatherinsight import DWD_ATTRIBUTION
from weatherinsight.api.deps import (
    API_QUARTER_PATTERN,
    BBOX_PATTERN,
    BBOX_SPEC_PATTERN,
    DEFAULT_PAGE,
    MAX_PAGE,
    POINT_PATTERN,
    POINT_SPEC_PATTERN,
    STATION_ID_MAX,
    TEXT_SPEC_PATTERN,
    ApiState,
    api_state,
    cache_headers,
    clean_text,
    parse_quarter,
    require_pattern,
)
from weatherinsight.api.errors import ApiError
from weatherinsight.api.formats import (
    OutputFormat,
    decode_cursor,
    encode_cursor,
    negotiate,
    next_link,
    plain,
    render_rows,
)
from weatherinsight.api.routes._common import ERRORS, reject_unknown_query, table_responses
from weatherinsight.api.routes.params import Cursor, ProductName
from weatherinsight.api.schemas import StationDetail, StationPage
from weatherinsight.warehouse.tables import station_locations, station_metadata

router = APIRouter(prefix="/stations", tags=["stations"], dependencies=[Depends(reject_unknown_query)])

EARTH_RADIUS_KM = 6371.0088
#: The radius of ``near=`` when ``radius_km`` is not given (stated in the spec and in the answer's meta).
DEFAULT_RADIUS_KM = 25.0
_SCAN_CHUNK = 2000
_COLUMNS = (
    "station_id",
    "name",
    "state",
    "latitude",
    "longitude",
    "height_m",
    "valid_from",
    "valid_to",
    "products",
)
_TYPES = (
    pa.int64(),
    pa.string(),
    pa.string(),
    pa.float64(),
    pa.float64(),
    pa.float64(),
    pa.date32(),
    pa.date32(),
    pa.list_(pa.string()),
)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _floats(name: str, text: str, count: int, example: str) -> list[float]:
    require_pattern(name, text, BBOX_PATTERN if count == 4 else POINT_PATTERN, example)
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != count or len(parts) != count or not all(math.isfinite(v) for v in values):
        raise ApiError(
            400, "invalid_parameter", f"query parameter {name!r}: expected {count} numbers like {example}"
        )
    return values


def _check_lat_lon(name: str, lat: float, lon: float) -> None:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ApiError(
            400,
            "invalid_parameter",
            f"query parameter {name!r}: latitude must be in [-90, 90], longitude in [-180, 180]",
        )


def fold(text: str) -> str:
    """Text for name matching: accents stripped, case folded (``Kubschütz`` → ``kubschutz``, ß → ss)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def search_stations(
    conn: Connection,
    conds: list[Any],
    *,
    centre: tuple[float, float] | None,
    radius_km: float,
    name: str | None,
    after: int,
    limit: int,
) -> tuple[list[dict[str, Any]], bool]:
    """One page of matching stations and whether more follow.

    Without ``centre``: ordered by station_id, keyset ``after`` (the last id served). With ``centre``: every
    station within ``radius_km`` ordered by (distance, station_id), ``after`` the offset into that order, and
    each object has ``distance_km``. ``name`` matches part of the name ignoring case and accents.
    """
    sm = station_metadata.c
    needle = fold(name) if name else None
    matched: dict[int, float] = {}
    last = 0 if centre is not None else after
    while centre is not None or len(matched) <= limit:
        chunk = list(
            conn.execute(
                select(sm.station_id, sm.lat, sm.lon, sm.name)
                .where(and_(*conds, sm.station_id > last))
                .order_by(sm.station_id)
                .limit(_SCAN_CHUNK)
            )
        )
        if not chunk:
            break
        full = len(chunk) == _SCAN_CHUNK
        if full and chunk[0].station_id != chunk[-1].station_id:
            # Leave the last station's rows for the next round so its product rows are judged together.
            tail = chunk[-1].station_id
            chunk = [r for r in chunk if r.station_id != tail]
        for r in chunk:
            if needle is not None and needle not in fold(r.name or ""):
                continue
            if centre is None:
                matched.setdefault(r.station_id, 0.0)
            elif r.lat is not None and r.lon is not None:
                d = haversine_km(centre[0], centre[1], r.lat, r.lon)
                if d <= radius_km:
                    matched[r.station_id] = min(d, matched.get(r.station_id, math.inf))
        last = chunk[-1].station_id
        if not full:
            break
    if centre is None:
        ids = sorted(matched)[: limit + 1]
    else:
        ids = sorted(matched, key=lambda i: (matched[i], i))[after : after + limit + 1]
    more = len(ids) > limit
    ids = ids[:limit]
    return _station_objects(conn, ids, {i: matched[i] for i in ids} if centre else None), more


def _station_objects(
    conn: Connection, ids: list[int], distances: dict[int, float] | None
) -> list[dict[str, Any]]:
    if not ids:
        return []
    sm = station_metadata.c
    rows = conn.execute(
        select(station_metadata).where(sm.station_id.in_(ids)).order_by(sm.station_id, sm.product)
    )
    by_id: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        by_id[r.station_id].append(r)
    out = []
    for sid in ids:
        group = by_id.get(sid)
        if not group:
            continue
        # The description comes from the row valid the longest (open-ended first): the station's current state.
        best = max(group, key=lambda r: (r.valid_to is None, r.valid_to or date.min, r.product))
        obj = {
            "station_id": sid,
            "name": best.name,
            "state": best.state,
            "latitude": best.lat,
            "longitude": best.lon,
            "height_m": best.height,
            "valid_from": min((r.valid_from for r in group if r.valid_from), default=None),
            "valid_to": None
            if any(r.valid_to is None for r in group)
            else max((r.valid_to for r in group), default=None),
            "products": sorted({r.product for r in group}),
        }
        if distances is not None:
            obj["distance_km"] = round(distances[sid], 3)
        out.append(obj)
    return out


def station_filters(
    state_name: str | None,
    product: str | None,
    bbox: str | None,
    near: str | None,
    radius_km: float | None,
    active: str | None,
) -> tuple[list[Any], tuple[float, float] | None, float]:
    """The SQL conditions of the station filters, the ``near`` centre (or None) and the radius in km.

    Bad values raise ``ApiError`` (400) naming the parameter."""
    sm = station_metadata.c
    conds: list[Any] = []
    region = clean_text("state", state_name, max_length=64)
    if region is not None:
        conds.append(func.lower(sm.state) == region.lower())
    if product is not None:
        conds.append(sm.product == product)
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = _floats("bbox", bbox, 4, "5.8,47.2,15.1,55.1")
        _check_lat_lon("bbox", min_lat, min_lon)
        _check_lat_lon("bbox", max_lat, max_lon)
        if min_lat > max_lat or min_lon > max_lon:
            raise ApiError(
                400, "invalid_parameter", "query parameter 'bbox': min_lon ≤ max_lon and min_lat ≤ max_lat"
            )
        conds += [sm.lat.between(min_lat, max_lat), sm.lon.between(min_lon, max_lon)]
    centre: tuple[float, float] | None = None
    radius = radius_km if radius_km is not None else DEFAULT_RADIUS_KM
    if near is not None:
        lat, lon = _floats("near", near, 2, "52.52,13.40")
        _check_lat_lon("near", lat, lon)
        centre = (lat, lon)
        dlat = radius / 111.0
        conds.append(sm.lat.between(lat - dlat, lat + dlat))
        coslat = math.cos(math.radians(lat))
        if coslat > 0.05 and radius / (111.32 * coslat) < 180:
            dlon = radius / (111.32 * coslat)
            conds.append(sm.lon.between(lon - dlon, lon + dlon))
    elif radius_km is not None:
        raise ApiError(400, "invalid_parameter", "query parameter 'radius_km' needs near=lat,lon")
    if active is not None:
        q = parse_quarter("active", active)
        first_day, last_day = q.start.date(), q.end.date() - timedelta(days=1)
        conds.append(or_(sm.valid_from.is_(None), sm.valid_from <= last_day))
        conds.append(or_(sm.valid_to.is_(None), sm.valid_to >= first_day))
    return conds, centre, radius


@router.get("", response_model=None, responses=table_responses(StationPage), summary="Stations with filters")
def list_stations(
    request: Request,
    state: Annotated[ApiState, Depends(api_state)],
    state_name: Annotated[
        str | None,
        Query(
            alias="state",
            max_length=64,
            json_schema_extra={"pattern": TEXT_SPEC_PATTERN},
            description="Bundesland, e.g. Niedersachsen",
        ),
    ] = None,
    bbox: Annotated[
        str | None,
        Query(
            max_length=128,
            json_schema_extra={"pattern": BBOX_SPEC_PATTERN},
            description="min_lon,min_lat,max_lon,max_lat",
            examples=["5.8,47.2,15.1,55.1"],
        ),
    ] = None,
    near: Annotated[
        str | None,
        Query(
            max_length=64,
            json_schema_extra={"pattern": POINT_SPEC_PATTERN},
            description="lat,lon",
            examples=["52.52,13.40"],
        ),
    ] = None,
    radius_km: Annotated[
        float | None,
        Query(
            gt=0,
            le=2000,
            allow_inf_nan=False,
            description=f"with near=: radius in km (default {DEFAULT_RADIUS_KM:g} km; the answer's meta states it)",
        ),
    ] = None,
    active: Annotated[
        str | None,
        Query(
            max_length=16,
            json_schema_extra={"pattern": API_QUARTER_PATTERN},
            description="stations operating in this quarter, e.g. 2024Q1",
        ),
    ] = None,
    product: Annotated[ProductName | None, Query(description="stations that report this product")] = None,
    name: Annotated[
        str | None,
        Query(
            max_length=64,
            json_schema_extra={"pattern": TEXT_SPEC_PATTERN},  # clean_text refuses control characters
            description="part of the station name, ignoring case and accents (kubschutz finds Kubschütz)",
            examples=["kubschutz"],
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Cursor = None,
    format: Annotated[OutputFormat | None, Query()] = None,
) -> Response:
    fmt = negotiate(request, format)
    conds, centre, radius = station_filters(state_name, product, bbox, near, radius_km, active)
    after = decode_cursor(cursor, 1)[0] if cursor is not None else 0
    needle = clean_text("name", name, max_length=64)
    with state.engine.connect() as conn:
        objects, more = search_stations(
            conn, conds, centre=centre, radius_km=radius, name=needle, after=after, limit=limit
        )
    if centre is not None:
        # Ordered by distance: the cursor is the offset of the next page in that order.
        nxt = next_link(request, encode_cursor([after + limit]) if more else None)
    else:
        nxt = next_link(request, encode_cursor([objects[-1]["station_id"]]) if more else None)
    columns = list(_COLUMNS) + (["distance_km"] if centre else [])
    types = list(_TYPES) + ([pa.float64()] if centre else [])
    return render_rows(
        fmt,
        meta={
            "attribution": DWD_ATTRIBUTION,
            "count": len(objects),
            "next": nxt,
            **(
                {"near": {"latitude": centre[0], "longitude": centre[1], "radius_km": radius}}
                if centre
                else {}
            ),
        },
        columns=columns,
        types=types,
        rows=[[o[c] for c in columns] for o in objects],
        next_url=nxt,
        headers=cache_headers(state, None, 60),
        filename="stations",
    )


@router.get(
    "/{station_id}",
    response_model=StationDetail,
    responses=ERRORS,
    summary="One station with its location history",
)
def get_station(
    station_id: Annotated[int, Field(ge=1, le=STATION_ID_MAX)],
    state: Annotated[ApiState, Depends(api_state)],
) -> dict[str, Any]:
    sl = station_locations.c
    with state.engine.connect() as conn:
        objects = _station_objects(conn, [station_id], None)
        meta_rows = list(
            conn.execute(
                select(station_metadata)
                .where(station_metadata.c.station_id == station_id)
                .order_by(station_metadata.c.product)
            )
        )
        locs = list(
            conn.execute(select(station_locations).where(sl.station_id == station_id).order_by(sl.valid_from))
        )
    if not meta_rows and not locs:
        raise ApiError(404, "not_found", f"no station {station_id} in the station lists; see /v1/stations")
    if objects and meta_rows:
        base = objects[0]
    else:
        current = locs[-1]
        base = {
            "station_id": station_id,
            "name": current.name,
            "state": None,
            "latitude": current.latitude,
            "longitude": current.longitude,
            "height_m": current.height_m,
            "valid_from": locs[0].valid_from,
            "valid_to": current.valid_to,
            "products": [],
        }
    return {
        **{k: plain(v) for k, v in base.items()},
        "attribution": DWD_ATTRIBUTION,
        "product_metadata": [
            {
                "product": r.product,
                "name": r.name,
                "state": r.state,
                "latitude": r.lat,
                "longitude": r.lon,
                "height_m": r.height,
                "valid_from": plain(r.valid_from),
                "valid_to": plain(r.valid_to),
                "source_file": r.source_file,
            }
            for r in meta_rows
        ],
        "locations": [
            {
                "valid_from": plain(r.valid_from),
                "valid_to": plain(r.valid_to),
                "latitude": r.latitude,
                "longitude": r.longitude,
                "height_m": r.height_m,
                "name": r.name,
                "source_file": r.source_file,
            }
            for r in locs
        ],
    }
