"""The daily produkt parser: one ``produkt_klima_tag_*.txt`` (climate/daily/kl, FORMAT §5.2) → Arrow.

One row per station and day. MESS_DATUM is ``YYYYMMDD`` and names DWD's climatological day (not a UTC hour:
RSK, for instance, is the precipitation of 06:00 UTC that day to 06:00 UTC the next). The field syntax is the
hourly parser's (``dwd.text``: padding, YYYYMMDD dates, finite numbers; ``-999`` → NULL), every bad field is a
:class:`~weatherinsight.errors.DwdFormatError` naming the file, line and column. A daily file holds at most
~27,000 rows (75 years), so a plain line loop is fast enough here; the hourly parser's block path is not needed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa

from weatherinsight.dwd.products import DAILY_KL, EOR, LEGACY_MARKERS, DailyProduct
from weatherinsight.dwd.text import PAD, date8, finite_float
from weatherinsight.errors import DwdFormatError


def _header(line: str, product: DailyProduct, file_name: str) -> None:
    tokens = tuple(t.strip(PAD) for t in line.removeprefix("\ufeff").split(";"))
    if any(marker in tokens for marker in LEGACY_MARKERS):
        raise DwdFormatError(
            file_name, "this is the pre-2017 legacy produkt layout; it is not supported", line=1
        )
    if tokens != product.header:
        raise DwdFormatError(
            file_name,
            f"header {';'.join(tokens)!r} is not the {product.name} ({product.code}) produkt header "
            f"{';'.join(product.header)!r}",
            line=1,
        )


def parse_daily_produkt(data: bytes, *, file_name: str, product: DailyProduct = DAILY_KL) -> pa.Table:
    """A daily produkt file → ``product.schema`` rows sorted by (station, day); -999 → NULL.

    Raises ``DwdFormatError`` (file, line, column) for a wrong header, a bad field, a repeated day or a row
    of another station than the first.
    """
    lines = data.decode("latin-1").splitlines()
    if not lines or not lines[0].strip():
        raise DwdFormatError(file_name, "empty file: no header line", line=1)
    _header(lines[0], product, file_name)
    names = [c for c in product.header if c != EOR]
    schema = product.schema
    columns: dict[str, list[Any]] = {f.name: [] for f in schema}
    qn_names = {qn: ours for qn, ours, _ in product.quality_groups}
    # (DWD name, our column, integer?) per value field, resolved once instead of per row
    targets: list[tuple[str, list[Any], bool]] = []
    for name in names[2:]:
        if name in qn_names:
            targets.append((name, columns[qn_names[name]], True))
        else:
            var = product.variable(name)
            targets.append((name, columns[var.column], pa.types.is_integer(var.arrow_type)))
    sentinel = float(product.sentinel)
    station: int | None = None
    last_day: date | None = None
    for i, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split(";")
        if len(fields) != len(names) + 1 or fields[-1].strip(PAD) != EOR:
            raise DwdFormatError(
                file_name, f"expected {len(names)} fields and 'eor', found {len(fields)} fields", line=i
            )
        sid_text = fields[0].strip(PAD)
        if not sid_text.isdigit():
            raise DwdFormatError(file_name, f"STATIONS_ID {sid_text!r} is not a number", line=i)
        sid = int(sid_text)
        if station is None:
            station = sid
        elif sid != station:
            raise DwdFormatError(file_name, f"station {sid} in a file of station {station}", line=i)
        day = date8(fields[1], file_name, i, "MESS_DATUM")
        if last_day is not None and day <= last_day:
            raise DwdFormatError(file_name, f"day {day} repeats or goes back (after {last_day})", line=i)
        last_day = day
        columns["station_id"].append(sid)
        columns["day"].append(day)
        for (name, out, integer), text in zip(targets, fields[2:-1], strict=True):
            value = finite_float(text, file_name, i, name)
            if value == sentinel:
                out.append(None)
            else:
                out.append(int(value) if integer else value)
    if station is None:
        raise DwdFormatError(file_name, "empty file: no data rows after the header", line=2)
    return pa.Table.from_pydict(columns, schema=schema)
