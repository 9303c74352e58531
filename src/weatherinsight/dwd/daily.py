"""The daily produkt parser: one ``produkt_klima_tag_*.txt`` (climate/daily/kl, FORMAT §5.2) → Arrow.

One row per station and day. MESS_DATUM is ``YYYYMMDD`` and names DWD's climatological day (not a UTC hour:
RSK, for instance, is the precipitation of 06:00 UTC that day to 06:00 UTC the next). The file is read
columnar, like the hourly produkt parser: ``pyarrow.csv`` reads every field as a number and numpy checks the
whole columns at once (station, dates strictly increasing, finite values, integer QN/RSKF; ``-999`` → NULL).
Only when a check fails does the line scan (``_scan``) run, to raise the
:class:`~weatherinsight.errors.DwdFormatError` naming the file, line and column — the same message the old
row-by-row parser gave.
"""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from weatherinsight.dwd.blocks import INT_RANGES, days_since_epoch
from weatherinsight.dwd.products import DAILY_KL, EOR, LEGACY_MARKERS, STAGED_TAIL_FIELDS, Product
from weatherinsight.dwd.text import PAD, date8, finite_float
from weatherinsight.errors import DwdFormatError


def daily_schema(product: Product = DAILY_KL) -> pa.Schema:
    """The parser's output: ``product.staged_schema`` without the source_period/source_file tail."""
    tail = {f.name for f in STAGED_TAIL_FIELDS}
    return pa.schema([f for f in product.staged_schema if f.name not in tail])


def _header(line: str, product: Product, file_name: str) -> None:
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


def _targets(product: Product) -> list[tuple[str, str, pa.DataType]]:
    """(DWD column, our column, Arrow type) of every field after STATIONS_ID and MESS_DATUM, header order."""
    out: list[tuple[str, str, pa.DataType]] = []
    for qn, ours, vs in product.groups:
        out.append((qn, ours, pa.int8()))
        out += [(v.dwd_name, v.column, v.arrow_type) for v in vs]
    return out


def _columnar(data: bytes, product: Product) -> pa.Table | None:
    """The whole file as ``daily_schema`` columns, or None at the first doubt (the line scan then names it)."""
    targets = _targets(product)
    names = ["station_id", "mess_datum", *(t[1] for t in targets), EOR]
    types: dict[str, pa.DataType] = {n: pa.float64() for n in names}
    types[EOR] = pa.string()
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=";", quote_char=False),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    if table.num_rows == 0:
        return None
    if not pc.all(pc.equal(pc.utf8_trim(table.column(EOR), PAD), EOR)).as_py():
        return None
    sid = table.column("station_id").to_numpy()
    if not (np.isfinite(sid).all() and sid[0] >= 0 and sid[0] == np.floor(sid[0]) and (sid == sid[0]).all()):
        return None
    md = table.column("mess_datum").to_numpy()
    if not (np.isfinite(md).all() and (md == np.floor(md)).all() and (md >= 10_000_101).all()):
        return None
    if not (md <= 99_991_231).all():
        return None
    days = days_since_epoch(md.astype(np.int64))
    if isinstance(days, int) or not bool((np.diff(days) > 0).all()):
        return None
    sentinel = float(product.sentinel)
    schema = daily_schema(product)
    arrays: list[pa.Array] = [
        pa.array(np.full(len(md), int(sid[0]), dtype=np.int32), type=pa.int32()),
        pa.array(days.astype(np.int32), type=pa.int32()).view(pa.date32()),
    ]
    for _, column, arrow_type in targets:
        values = table.column(column).to_numpy()
        missing = values == sentinel
        if not np.isfinite(values).all():
            return None
        if pa.types.is_integer(arrow_type):
            lo, hi = INT_RANGES[arrow_type]
            ok = missing | ((values == np.floor(values)) & (values >= lo) & (values <= hi))
            if not ok.all():
                return None
            arrays.append(
                pa.array(np.where(missing, 0, values).astype(np.int64), mask=missing).cast(arrow_type)
            )
        else:
            arrays.append(pa.array(values, mask=missing, type=arrow_type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _scan(lines: list[str], product: Product, file_name: str) -> DwdFormatError:
    """The line-by-line check: the first problem as a ``DwdFormatError`` naming the line and column."""
    targets = _targets(product)
    n_fields = len(product.header) - 1
    station: int | None = None
    last_day: date | None = None
    for i, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split(";")
        if len(fields) != n_fields + 1 or fields[-1].strip(PAD) != EOR:
            return DwdFormatError(
                file_name, f"expected {n_fields} fields and 'eor', found {len(fields)} fields", line=i
            )
        sid_text = fields[0].strip(PAD)
        if not sid_text.isdigit():
            return DwdFormatError(file_name, f"STATIONS_ID {sid_text!r} is not a number", line=i)
        sid = int(sid_text)
        if station is None:
            station = sid
        elif sid != station:
            return DwdFormatError(file_name, f"station {sid} in a file of station {station}", line=i)
        try:
            day = date8(fields[1], file_name, i, "MESS_DATUM")
            if last_day is not None and day <= last_day:
                return DwdFormatError(file_name, f"day {day} repeats or goes back (after {last_day})", line=i)
            last_day = day
            for (name, _, arrow_type), text in zip(targets, fields[2:-1], strict=True):
                value = finite_float(text, file_name, i, name)
                if pa.types.is_integer(arrow_type) and value != product.sentinel:
                    lo, hi = INT_RANGES[arrow_type]
                    if value != int(value) or not lo <= value <= hi:
                        return DwdFormatError(
                            file_name, f"{name} {text.strip()!r} is not an integer in [{lo}, {hi}]", line=i
                        )
        except DwdFormatError as exc:
            return exc
    if station is None:
        return DwdFormatError(file_name, "empty file: no data rows after the header", line=2)
    return DwdFormatError(file_name, "the file could not be read as a daily produkt file", line=None)


def parse_daily_produkt(data: bytes, *, file_name: str, product: Product = DAILY_KL) -> pa.Table:
    """A daily produkt file → ``daily_schema(product)`` rows sorted by (station, date); -999 → NULL.

    Raises ``DwdFormatError`` (file, line, column) for a wrong header, a bad field, a repeated day or a row
    of another station than the first.
    """
    first, _, _ = data.partition(b"\n")
    if not first.strip():
        raise DwdFormatError(file_name, "empty file: no header line", line=1)
    _header(first.decode("latin-1").rstrip("\r"), product, file_name)
    table = _columnar(data, product)
    if table is None:
        raise _scan(data.decode("latin-1").splitlines(), product, file_name)
    return table
