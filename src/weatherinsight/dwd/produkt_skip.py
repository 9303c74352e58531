"""Parsing only the wanted hours of a produkt file: find each row's MESS_DATUM without the CSV parse.

A staging run for a few quarters needs a few thousand rows of a file that may hold decades. DWD writes one
station per produkt file, sorted by MESS_DATUM (docs/dwd-format.md §4), so the rows a run wants are one
contiguous stretch of lines. ``skim`` reads the whole inflated member (to its end, so that ``zipfile``
checks the CRC), finds every line's MESS_DATUM with a few numpy passes over the bytes (no CSV parse, no value
conversion) and keeps only the lines whose file-local hour lies in the wanted ``Window`` widened by
``MARGIN``; ``dwd.produkt`` parses those with the ordinary CSV path. Every row's local timestamp is returned
too, so the file's true hour range, row count and time-reference drops (what staging records and what
precedence claims) are those of the whole file, not of the parsed stretch.

Skimming relies on the file's shape and checks it per file: every line is ``<station>;<YYYYMMDDHH>;…`` with
the same station field, the dates are valid and the hours strictly increase. At the first line that does
not fit, ``skim`` returns None and the caller parses the whole file, so an unsorted or odd file is staged
exactly as before (or rejected with the usual message). What a skipped line is not checked for: its value
columns (those are checked when a run that wants them parses them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

import numpy as np

from weatherinsight.dwd.blocks import US_PER_DAY, Reject, _timestamps

#: Inflated bytes read per step (the skim decides line by line; this only bounds memory).
READ_SIZE = 1 << 20
#: How far beyond the wanted UTC hours (in file-local time) lines are still parsed. A MEZ row's local hour is
#: its UTC hour + 1 h, and a row that a shifted MEZ row collides with lies within the same hour, so one day
#: covers both with room to spare.
MARGIN = US_PER_DAY
_NL, _SEMI, _ZERO = 10, 59, 48


@dataclass(frozen=True)
class Window:
    """The UTC hours a caller wants: half-open ``[start, end)`` spans in µs since the epoch."""

    spans: tuple[tuple[int, int], ...]

    def line_mask(self, ts_local: np.ndarray) -> np.ndarray:
        """Per row (file-local µs): whether its line must be parsed."""
        keep = np.zeros(len(ts_local), dtype=bool)
        for start, end in self.spans:
            keep |= (ts_local >= start - MARGIN) & (ts_local < end + MARGIN)
        return keep


@dataclass
class Skimmed:
    """A skimmed produkt member: the wanted lines' bytes, every row's local µs stamp and the station."""

    kept: bytes
    ts: np.ndarray
    station: int
    kept_rows: int


class _Misfit(Exception):
    """The file does not have the shape skimming relies on (the caller parses it whole)."""


@dataclass
class _Scan:
    station_field: bytes | None = None
    last_ts: int | None = None


def _lines(buf: bytes, scan: _Scan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Line starts, line ends (the ``\\n``'s position) and local µs stamps of the complete lines in ``buf``."""
    a = np.frombuffer(buf, dtype=np.uint8)
    fixed = _fixed_width(buf, a, scan)
    if fixed is not None:
        starts, md = fixed
        ends = starts + (len(buf) // len(starts) - 1)
    else:
        starts, ends, md = _any_width(a, scan)
    try:
        ts = _timestamps(md.astype(np.float64))
    except Reject:
        raise _Misfit from None
    if len(ts) > 1 and not bool((ts[1:] > ts[:-1]).all()):
        raise _Misfit
    if scan.last_ts is not None and int(ts[0]) <= scan.last_ts:
        raise _Misfit
    scan.last_ts = int(ts[-1])
    return starts, ends, ts


def _station(field: bytes, scan: _Scan) -> np.ndarray:
    """The station field every line must start with (the first line's), as bytes to compare."""
    if scan.station_field is None:
        scan.station_field = field
    return np.frombuffer(scan.station_field, dtype=np.uint8)


def _fixed_width(buf: bytes, a: np.ndarray, scan: _Scan) -> tuple[np.ndarray, np.ndarray] | None:
    """Line starts and MESS_DATUM values when every line has the first line's length (DWD pads its fields to
    fixed widths, so this is the usual case): the lines are then rows of a 2-D view, no gathering needed.
    None when the lines differ in length."""
    size = buf.find(b"\n") + 1
    n = len(buf) // size if size > 0 else 0
    if n == 0 or n * size != len(buf) or buf.count(b"\n") != n:
        return None
    rows = a.reshape(n, size)
    if not bool((rows[:, size - 1] == _NL).all()):
        return None
    width = buf.find(b";")
    if width < 0 or width + 11 >= size - 1:
        raise _Misfit
    field = _station(buf[:width], scan)
    if len(field) != width or not bool((rows[:, :width] == field).all()):
        raise _Misfit
    if not bool((rows[:, width] == _SEMI).all()) or not bool((rows[:, width + 11] == _SEMI).all()):
        raise _Misfit
    return np.arange(n) * size, _digits([rows[:, width + 1 + k] for k in range(10)])


def _digits(columns: list[np.ndarray]) -> np.ndarray:
    """Ten columns of ASCII digit bytes (one value per row) → the rows' integer values, column by column
    (an integer matrix product would be several times slower)."""
    value = np.zeros(len(columns[0]), dtype=np.int64)
    bad = np.zeros(len(columns[0]), dtype=bool)
    for column in columns:
        digit = column - np.uint8(_ZERO)  # wraps below '0', so one comparison catches both sides
        bad |= digit > 9
        value *= 10
        value += digit
    if bad.any():
        raise _Misfit
    return value


def _any_width(a: np.ndarray, scan: _Scan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Line starts, ends and MESS_DATUM values for lines of any length (one gather per byte column)."""
    ends = np.flatnonzero(a == _NL)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    first = bytes(a[: int(ends[0])])
    width = first.find(b";")
    if width < 0:
        raise _Misfit
    field = _station(first[:width], scan)
    width = len(field)
    # The MESS_DATUM field: exactly ten digits between the first and the second ';' of the line.
    if not bool((starts + width + 11 < ends).all()):
        raise _Misfit
    if not bool((a[starts + width] == _SEMI).all()) or not bool((a[starts + width + 11] == _SEMI).all()):
        raise _Misfit
    for k, byte in enumerate(field):
        if not bool((a[starts + k] == byte).all()):
            raise _Misfit
    return starts, ends, _digits([a[starts + width + 1 + k] for k in range(10)])


def skim(stream: IO[bytes], window: Window, *, read_size: int = READ_SIZE) -> Skimmed | None:
    """Read ``stream`` (positioned after the header line) to its end; the lines ``window`` wants and every
    row's stamp, or None when the file does not fit (module doc) or has no data row."""
    scan = _Scan()
    kept: list[bytes] = []
    stamps: list[np.ndarray] = []
    kept_rows = 0
    carry = b""
    try:
        while True:
            chunk = stream.read(read_size)
            buf = carry + chunk
            if not chunk:
                if not buf:
                    break
                if not buf.endswith(b"\n"):
                    buf += b"\n"  # a last line without a line end
                carry = b""
            else:
                cut = buf.rfind(b"\n") + 1
                buf, carry = buf[:cut], buf[cut:]
                if not buf:
                    continue
            starts, ends, ts = _lines(buf, scan)
            stamps.append(ts)
            keep = window.line_mask(ts)
            if keep.any():
                # Sorted rows: the wanted lines of one read are one stretch (the window's spans are apart by
                # whole quarters, but a stretch that includes an unwanted line is still parsed correctly).
                lo, hi = int(np.argmax(keep)), len(keep) - int(np.argmax(keep[::-1]))
                kept.append(buf[int(starts[lo]) : int(ends[hi - 1]) + 1])
                kept_rows += hi - lo
            if not chunk:
                break
    except _Misfit:
        return None  # the caller parses the whole member again, which checks the CRC
    if not stamps or scan.station_field is None:
        return None
    try:
        station = int(scan.station_field.decode("ascii").strip())
    except ValueError:
        return None
    return Skimmed(b"".join(kept), np.concatenate(stamps), station, kept_rows)
