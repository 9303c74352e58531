"""Parsers for the metadata files of a station zip: Metadaten_Parameter (time-reference periods per
parameter, FORMAT §2.8) and Metadaten_Geographie (the station's location history)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa

from weatherinsight.dwd.products import (
    TIME_REFERENCE_MEZ,
    TIME_REFERENCE_MOZ,
    TIME_REFERENCE_UTC,
    TimeReference,
)
from weatherinsight.dwd.text import date8, decode, finite_float, is_trailer
from weatherinsight.errors import DwdFormatError

_MOZ = re.compile(rf"\b{TIME_REFERENCE_MOZ}\b")


@dataclass(frozen=True)
class TimePeriod:
    """One row of Metadaten_Parameter: a parameter's time reference over [start, end] (whole days)."""

    parameter: str
    start: date
    end: date
    reference: TimeReference
    #: The Zusatz-Info text as DWD wrote it (for messages; not part of equality).
    info: str = field(default="", compare=False)


@dataclass(frozen=True)
class DroppedPeriod:
    """Rows of one produkt file left out because their period's time reference cannot be made UTC."""

    parameter: str  # the primary variable whose period decided the rows (DESIGN §5)
    start: date
    end: date
    reference: TimeReference  # "MOZ" or "unknown"
    info: str  # the Zusatz-Info text
    rows: int


def time_reference(text: str) -> TimeReference:
    """The reference a Zusatz-Info text names: MOZ, MEZ, UTC, else "unknown"."""
    # "Stundenwerte in MEZ", "in UTC", and WRTR's "01,02,…,23 UTC=1h Bezugszeitraum" (FORMAT §2.3/§2.8).
    upper = text.upper()
    # MOZ first: a text that names MOZ at all does not tell which hours are in which reference.
    if _MOZ.search(upper):
        return "MOZ"
    if TIME_REFERENCE_MEZ in upper:
        return "MEZ"
    if TIME_REFERENCE_UTC in upper:
        return "UTC"
    return "unknown"


def parse_parameter_metadata(data: bytes, *, file_name: str) -> list[TimePeriod]:
    """The time-reference periods per parameter from ``Metadaten_Parameter_*.txt`` (trailer lines skipped).

    A Zusatz-Info naming MOZ gives ``reference="MOZ"``, one naming neither UTC, MEZ nor MOZ ``"unknown"``;
    the produkt parser leaves those periods' rows out and counts them (module doc).
    """
    lines = decode(data).splitlines()
    header_no = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_no is None:
        raise DwdFormatError(file_name, "empty Metadaten_Parameter file", line=1)
    header = [t.strip().lower() for t in lines[header_no].split(";")]
    wanted = {"von_datum": -1, "bis_datum": -1, "parameter": -1, "zusatz-info": -1}
    for key in wanted:
        if key not in header:
            raise DwdFormatError(
                file_name, f"Metadaten_Parameter header lacks the column {key!r}", line=header_no + 1
            )
        wanted[key] = header.index(key)
    need = max(wanted.values()) + 1
    periods: list[TimePeriod] = []
    for i in range(header_no + 1, len(lines)):
        line = lines[i]
        if not line.strip() or is_trailer(line):
            continue
        fields = line.split(";")
        if len(fields) < need:
            raise DwdFormatError(
                file_name, f"expected at least {need} fields, found {len(fields)}", line=i + 1
            )
        parameter = fields[wanted["parameter"]].strip()
        if not parameter:
            raise DwdFormatError(file_name, "blank parameter name", line=i + 1)
        start = date8(fields[wanted["von_datum"]], file_name, i + 1, "Von_Datum")
        end = date8(fields[wanted["bis_datum"]], file_name, i + 1, "Bis_Datum")
        if end < start:
            raise DwdFormatError(file_name, f"period ends before it starts ({start} > {end})", line=i + 1)
        info = fields[wanted["zusatz-info"]].strip()
        periods.append(TimePeriod(parameter, start, end, time_reference(info), info))
    return periods


# Metadaten_Geographie

GEOGRAPHY_SCHEMA = pa.schema(
    [
        pa.field("station_id", pa.int32(), nullable=False),
        pa.field("height_m", pa.float64()),
        pa.field("latitude", pa.float64()),
        pa.field("longitude", pa.float64()),
        pa.field("valid_from", pa.date32(), nullable=False),
        pa.field("valid_to", pa.date32()),
        pa.field("station_name", pa.string()),
    ]
)


def parse_geography(data: bytes, *, file_name: str) -> pa.Table:
    """Station location history from ``Metadaten_Geographie_*.txt`` (blank bis_datum = still valid)."""
    lines = decode(data).splitlines()
    rows: dict[str, list[object]] = {f.name: [] for f in GEOGRAPHY_SCHEMA}
    header_seen = False
    for i, line in enumerate(lines, start=1):
        if not line.strip() or is_trailer(line):
            continue
        fields = line.split(";")
        if not header_seen:
            if fields[0].strip().lower() != "stations_id" or len(fields) < 7:
                raise DwdFormatError(file_name, f"unexpected Metadaten_Geographie header {line!r}", line=i)
            header_seen = True
            continue
        if len(fields) < 7:
            raise DwdFormatError(file_name, f"expected 7 fields, found {len(fields)}", line=i)
        sid = fields[0].strip()
        if not sid.isdigit():
            raise DwdFormatError(file_name, f"station id {sid!r} is not a number", line=i)
        rows["station_id"].append(int(sid))
        rows["height_m"].append(finite_float(fields[1], file_name, i, "Stationshoehe"))
        rows["latitude"].append(finite_float(fields[2], file_name, i, "Geogr.Breite"))
        rows["longitude"].append(finite_float(fields[3], file_name, i, "Geogr.Laenge"))
        rows["valid_from"].append(date8(fields[4], file_name, i, "von_datum"))
        to = fields[5].strip()
        rows["valid_to"].append(date8(to, file_name, i, "bis_datum") if to else None)
        rows["station_name"].append(";".join(fields[6:]).strip())
    if not header_seen:
        raise DwdFormatError(file_name, "empty Metadaten_Geographie file", line=1)
    return pa.Table.from_pydict(rows, schema=GEOGRAPHY_SCHEMA)


# --------------------------------------------------------------------------------------------------------
# produkt
