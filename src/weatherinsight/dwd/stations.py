"""Parser of the station description list ``<CODE>_Stundenwerte_Beschreibung_Stationen.txt`` (FORMAT §1.4).

Owns: bytes in, Arrow out. The list is fixed width, not whitespace separated: station names hold spaces,
commas, parentheses and umlauts (``Kubschütz, Kr. Bautzen``). The six numeric fields never contain a space,
so they are matched as tokens; where they end, the 41-character name column starts, and the Bundesland
follows it. This one rule covers the 2016 layout (id right-aligned in 11 characters), the 2021–2023 layout
(5-digit zero-padded id) and the 2024+ layout with a trailing ``Abgabe`` column (dropped here). The dash
ruler does not line up with the data, so positions are never taken from it.
"""

from __future__ import annotations

import re
from datetime import date

import pyarrow as pa

from weatherinsight.errors import DwdFormatError

STATION_LIST_SCHEMA = pa.schema(
    [
        pa.field("station_id", pa.int32(), nullable=False),
        pa.field("valid_from", pa.date32(), nullable=False),
        pa.field("valid_to", pa.date32()),
        pa.field("height_m", pa.float64()),
        pa.field("latitude", pa.float64()),
        pa.field("longitude", pa.float64()),
        pa.field("station_name", pa.string(), nullable=False),
        pa.field("state", pa.string(), nullable=False),
    ]
)

#: Width of the Stationsname column (FORMAT §1.4: ``[61:102]`` in the 2021–2023 layout).
NAME_WIDTH = 41
_HEADER = (
    "Stations_id",
    "von_datum",
    "bis_datum",
    "Stationshoehe",
    "geoBreite",
    "geoLaenge",
    "Stationsname",
    "Bundesland",
)
_NUMBERS = re.compile(
    r"^ *(?P<id>\d{1,5}) +(?P<von>\d{8}) +(?P<bis>\d{8}|        ) +(?P<height>-?\d+(?:\.\d+)?) +"
    r"(?P<lat>-?\d+\.\d+) +(?P<lon>-?\d+\.\d+) "
)


_STRAY_TAIL = re.compile(r"\S {2,}\S+$")


def _decode(data: bytes) -> str:
    """Strict UTF-8 first; every real list so far is latin-1 (FORMAT §1.4)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _date(text: str, file_name: str, line: int, what: str) -> date:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError as exc:
        raise DwdFormatError(file_name, f"{what} {text!r} is not a valid date", line=line) from exc


def _name_and_state(rest: str, has_abgabe: bool, file_name: str, line: int) -> tuple[str, str]:
    """Split what follows the coordinates into name and Bundesland (and drop Abgabe)."""
    if has_abgabe:
        # Abgabe is the last token (``Frei``); Bundesland names never contain a space.
        head, _, _abgabe = rest.rstrip().rpartition(" ")
        rest = head
    name, state = rest[:NAME_WIDTH], rest[NAME_WIDTH:].strip()
    # A padding run followed by a fragment at the end of the name column means the cut went through the
    # Bundesland (a UTF-8 copy padded by bytes, not characters).
    clean_cut = _STRAY_TAIL.search(name) is None
    if not clean_cut or not state or " " in state:
        # The fixed cut went through a word (e.g. a UTF-8 copy padded by bytes, not characters):
        # fall back on the Bundesland being the last token, the name everything before it.
        head, _, state = rest.rstrip().rpartition(" ")
        name = head
    name, state = name.strip(), state.strip()
    if not name or not state:
        raise DwdFormatError(file_name, "station name or Bundesland is missing", line=line)
    return name, state


def parse_station_list(data: bytes, *, file_name: str) -> pa.Table:
    """The station list → Arrow (``STATION_LIST_SCHEMA``), one row per line, in file order."""
    lines = _decode(data).splitlines()
    if not lines or not lines[0].strip():
        raise DwdFormatError(file_name, "empty station list", line=1)
    header = lines[0].split()
    if tuple(header[: len(_HEADER)]) != _HEADER:
        raise DwdFormatError(
            file_name, f"unexpected header {lines[0].strip()!r}, expected {' '.join(_HEADER)} …", line=1
        )
    has_abgabe = "Abgabe" in header[len(_HEADER) :]
    cols: dict[str, list[object]] = {f.name: [] for f in STATION_LIST_SCHEMA}
    for i, line in enumerate(lines[1:], start=2):
        if not line.strip(" \x1a") or set(line.strip()) <= {"-", " "}:
            continue  # blank lines, the dash ruler and a DOS end-of-file mark (Ctrl-Z ends the 2016 list)
        m = _NUMBERS.match(line)
        if m is None:
            raise DwdFormatError(
                file_name,
                f"line does not start with id, dates, height and coordinates: {line[:70]!r}",
                line=i,
            )
        name, state = _name_and_state(line[m.end() :], has_abgabe, file_name, i)
        cols["station_id"].append(int(m["id"]))
        cols["valid_from"].append(_date(m["von"], file_name, i, "von_datum"))
        bis = m["bis"].strip()
        cols["valid_to"].append(_date(bis, file_name, i, "bis_datum") if bis else None)
        cols["height_m"].append(float(m["height"]))
        cols["latitude"].append(float(m["lat"]))
        cols["longitude"].append(float(m["lon"]))
        cols["station_name"].append(name)
        cols["state"].append(state)
    if not cols["station_id"]:
        raise DwdFormatError(file_name, "station list has no station lines", line=len(lines))
    return pa.Table.from_pydict(cols, schema=STATION_LIST_SCHEMA)
