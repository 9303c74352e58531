"""Parsers for the files inside a DWD hourly zip: produkt data, Metadaten_Parameter, Metadaten_Geographie.

Owns: bytes in, Arrow out, for one station's files (FORMAT §2, §4). The produkt parser streams the member
through ``pyarrow.csv`` in blocks and converts each block with numpy (no Python loop per row); only when a
block is rejected does a slow line-by-line scan run, to name the exact line and problem in the
:class:`~weatherinsight.errors.DwdFormatError`. The station description list is in ``stations.py``.

Time reference (docs/design.md §5): the primary variable's Metadaten_Parameter periods decide the whole row; rows
in a MEZ period are shifted by exactly −1 h (MEZ is UTC+1 without daylight saving, FORMAT §2.8/§4.10);
where a shifted row collides with a row of a UTC period of the same file the UTC row is kept.
Rows outside every listed period of the primary variable, and files without Metadaten_Parameter, count as
UTC (what DWD uses for all current data). A period whose Zusatz-Info names MOZ (local mean time, which
PDF-TU says West German stations used for early data, FORMAT §2.2/§2.8), or names none of UTC/MEZ/MOZ,
cannot be converted to UTC with a whole-hour shift: its rows are left out of the table and counted per
period (``ProduktZip.dropped``); the file's other rows are kept, so decades of good data are not lost.
"""

from __future__ import annotations

import io
import itertools
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import IO, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from weatherinsight.dwd.files import (
    DEFAULT_MAX_UNCOMPRESSED,
    PRODUKT_PREFIX,
    Period,
    SafeZip,
    parse_zip_name,
)
from weatherinsight.dwd.products import (
    EOR,
    LEGACY_MARKERS,
    STAGED_TAIL_FIELDS,
    TIME_REFERENCE_MEZ,
    TIME_REFERENCE_UTC,
    Product,
)
from weatherinsight.errors import DwdFormatError

#: "MOZ" and "unknown" cannot be converted to UTC with a whole-hour shift: their rows are left out.
TimeReference = Literal["UTC", "MEZ", "MOZ", "unknown"]
#: Whole hours to subtract from a period's local MESS_DATUM to get UTC (FORMAT §2.8: MEZ = UTC+1, no DST).
_SHIFT_HOURS: dict[TimeReference, int] = {"UTC": 0, "MEZ": 1}
#: Mittlere Ortszeit (FORMAT §2.2/§2.8, PDF-TU). Local mean time is the mean solar time of the station's own
#: meridian, so its offset from UTC depends on the longitude and is not a whole number of hours.
TIME_REFERENCE_MOZ = "MOZ"
_MOZ = re.compile(rf"\b{TIME_REFERENCE_MOZ}\b")

_US_PER_HOUR = 3_600_000_000
_US_PER_DAY = 24 * _US_PER_HOUR
#: CSV block size. Measured (benchmarks/README.md): 1 MiB is as fast as 8 MiB and keeps the peak RSS lowest,
#: since pyarrow reads several blocks ahead.
_BLOCK_SIZE = 1 << 20
_MAX_HEADER = 4096
#: The MESS_DATUM range every value must lie in (YYYYMMDDHH, years 1000-9999).
_MD_LO, _MD_HI = 1_000_010_100, 9_999_123_123
#: Days per month, index 1..12 (February without the leap day).
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
#: pyarrow trims exactly these around numbers; the line scanner must agree with it.
_PAD = " \t"
#: The number syntax pyarrow's float parser accepts (nan/inf are parsed too and rejected as non-finite).
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_INT_RANGES: dict[pa.DataType, tuple[int, int]] = {
    pa.int8(): (-128, 127),
    pa.int16(): (-32768, 32767),
    pa.int32(): (-(2**31), 2**31 - 1),
}


# --------------------------------------------------------------------------------------------------------
# Metadaten_Parameter


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

    parameter: str  # the primary variable whose period decided the rows (docs/design.md §5)
    start: date
    end: date
    reference: TimeReference  # "MOZ" or "unknown"
    info: str  # the Zusatz-Info text
    rows: int


def _decode(data: bytes) -> str:
    """Strict UTF-8 first, latin-1 otherwise (FORMAT §4.1: DWD's metadata are latin-1)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _is_trailer(line: str) -> bool:
    head = line.lstrip().lower()
    return head.startswith(("legende", "generiert"))


def _date8(text: str, file_name: str, line: int, what: str) -> date:
    text = text.strip()
    if len(text) != 8 or not text.isdigit():
        raise DwdFormatError(file_name, f"{what} {text!r} is not a YYYYMMDD date", line=line)
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError as exc:
        raise DwdFormatError(file_name, f"{what} {text!r} is not a valid date", line=line) from exc


def _time_reference(text: str) -> TimeReference:
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
    lines = _decode(data).splitlines()
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
        if not line.strip() or _is_trailer(line):
            continue
        fields = line.split(";")
        if len(fields) < need:
            raise DwdFormatError(
                file_name, f"expected at least {need} fields, found {len(fields)}", line=i + 1
            )
        parameter = fields[wanted["parameter"]].strip()
        if not parameter:
            raise DwdFormatError(file_name, "blank parameter name", line=i + 1)
        start = _date8(fields[wanted["von_datum"]], file_name, i + 1, "Von_Datum")
        end = _date8(fields[wanted["bis_datum"]], file_name, i + 1, "Bis_Datum")
        if end < start:
            raise DwdFormatError(file_name, f"period ends before it starts ({start} > {end})", line=i + 1)
        info = fields[wanted["zusatz-info"]].strip()
        periods.append(TimePeriod(parameter, start, end, _time_reference(info), info))
    return periods


# --------------------------------------------------------------------------------------------------------
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


def _float(text: str, file_name: str, line: int, what: str) -> float:
    text = text.strip()
    if not _NUMBER.fullmatch(text) or not math.isfinite(value := float(text)):
        raise DwdFormatError(file_name, f"{what} {text!r} is not a number", line=line)
    return value


def parse_geography(data: bytes, *, file_name: str) -> pa.Table:
    """Station location history from ``Metadaten_Geographie_*.txt`` (blank bis_datum = still valid)."""
    lines = _decode(data).splitlines()
    rows: dict[str, list[object]] = {f.name: [] for f in GEOGRAPHY_SCHEMA}
    header_seen = False
    for i, line in enumerate(lines, start=1):
        if not line.strip() or _is_trailer(line):
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
        rows["height_m"].append(_float(fields[1], file_name, i, "Stationshoehe"))
        rows["latitude"].append(_float(fields[2], file_name, i, "Geogr.Breite"))
        rows["longitude"].append(_float(fields[3], file_name, i, "Geogr.Laenge"))
        rows["valid_from"].append(_date8(fields[4], file_name, i, "von_datum"))
        to = fields[5].strip()
        rows["valid_to"].append(_date8(to, file_name, i, "bis_datum") if to else None)
        rows["station_name"].append(";".join(fields[6:]).strip())
    if not header_seen:
        raise DwdFormatError(file_name, "empty Metadaten_Geographie file", line=1)
    return pa.Table.from_pydict(rows, schema=GEOGRAPHY_SCHEMA)


# --------------------------------------------------------------------------------------------------------
# produkt


def produkt_schema(product: Product) -> pa.Schema:
    """The parser's output: ``product.staged_schema`` without the source_period/source_file tail."""
    tail = {f.name for f in STAGED_TAIL_FIELDS}
    return pa.schema([f for f in product.staged_schema if f.name not in tail])


class _Reject(Exception):
    """A block failed a vectorised check; ``row`` is the 0-based data row (for the fallback line number)."""

    def __init__(self, problem: str, row: int | None) -> None:
        self.problem = problem
        self.row = row
        super().__init__(problem)


def _check_header(line: bytes, product: Product, file_name: str) -> None:
    # No DWD file has a byte-order mark (FORMAT §4.1), but an editor that re-saved one may add it.
    text = line.removeprefix(b"\xef\xbb\xbf").decode("latin-1").rstrip("\r\n")
    if not text.strip():
        raise DwdFormatError(file_name, "empty file: no header line", line=1)
    tokens = [t.strip(_PAD) for t in text.split(";")]
    if any(marker in tokens for marker in LEGACY_MARKERS):
        raise DwdFormatError(
            file_name,
            "this is the pre-2017 legacy produkt layout (German long column names such as "
            f"{'/'.join(LEGACY_MARKERS)}); it is not supported",
            line=1,
            hint="use a current DWD file (2017 or later layout)",
        )
    if tuple(tokens) != product.header:
        raise DwdFormatError(
            file_name,
            f"header {';'.join(tokens)!r} is not the {product.name} ({product.code}) produkt header "
            f"{';'.join(product.header)!r}",
            line=1,
        )


def _first_false(ok: np.ndarray) -> int:
    return int(np.argmin(ok))


def _check_int(
    values: np.ndarray, lo: int, hi: int, what: str, *, allow_sentinel: float | None = None
) -> np.ndarray | None:
    """Vectorised: finite, integral, in [lo, hi] (the sentinel excepted). Returns the sentinel mask."""
    mask = values == allow_sentinel if allow_sentinel is not None else None
    ok = np.isfinite(values) & (values == np.floor(values)) & (values >= lo) & (values <= hi)
    if mask is not None:
        ok |= mask
    if not ok.all():
        bad = _first_false(ok)
        raise _Reject(f"{what} {values[bad]!r} is not an integer in [{lo}, {hi}]", bad)
    return mask if mask is not None and mask.any() else None


def _timestamps(md: np.ndarray) -> np.ndarray:
    """MESS_DATUM (YYYYMMDDHH as float) → microseconds since the epoch, every component validated."""
    ok = np.isfinite(md) & (md == np.floor(md)) & (md >= 1_000_010_100) & (md <= 9_999_123_123)
    if not ok.all():
        bad = _first_false(ok)
        raise _Reject(f"MESS_DATUM {md[bad]!r} is not a YYYYMMDDHH value", bad)
    v = md.astype(np.int64)
    ymd = v // 100
    hour = v - ymd * 100
    if (hour > 23).any():
        bad = int(np.argmax(hour > 23))
        raise _Reject(f"MESS_DATUM {v[bad]} is not a valid date and hour", bad)
    # Rows come in runs of 24 per day: convert each run's date once and repeat it (much less work).
    starts = np.flatnonzero(np.concatenate(([True], ymd[1:] != ymd[:-1])))
    run_days = _days_since_epoch(ymd[starts])
    if isinstance(run_days, int):
        bad = int(starts[run_days])
        raise _Reject(f"MESS_DATUM {v[bad]} is not a valid date", bad)
    days = np.repeat(run_days, np.diff(np.append(starts, len(v))))
    result: np.ndarray = days * _US_PER_DAY + hour * _US_PER_HOUR
    return result


def _days_since_epoch(ymd: np.ndarray) -> np.ndarray | int:
    """YYYYMMDD integers → days since 1970-01-01, or the index of the first invalid date."""
    year, md = ymd // 10_000, ymd % 10_000
    month, day = md // 100, md % 100
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    valid = (month >= 1) & (month <= 12) & (day >= 1)
    valid &= day <= _MONTH_DAYS[np.clip(month, 0, 12)] + (leap & (month == 2))
    if not valid.all():
        return _first_false(valid)
    # The proleptic Gregorian "days from civil" formula in integer arithmetic (years ≥ 1000 here).
    y = year - (month <= 2)
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    days: np.ndarray = 365 * y + y // 4 - y // 100 + y // 400 + doy - 719_468
    return days


@dataclass
class _Block:
    """One converted CSV block: final Arrow columns plus the (unshifted) UTC-or-local µs timestamps."""

    station: int
    ts: np.ndarray  # µs since the epoch as written (before any MEZ shift); strictly monotonic in MESS_DATUM
    columns: list[pa.Array]  # qn, then the product's value columns, already typed with NULLs
    increasing: bool = False  # ts is known to be strictly increasing within the block


# ---- fast block checks ----------------------------------------------------------------------------------
# Each returns the same result as the general check above it when the block is valid, and None (or False)
# as soon as anything is unusual; the caller then runs the general check, which names the problem. So the
# fast path never accepts what the general path rejects and never changes a message.


def _eor_ok(eor: pa.Array) -> bool:
    """Every value of the eor column is exactly ``EOR`` — from the offsets and one byte comparison."""
    n = len(eor)
    if eor.type != pa.string() or eor.null_count or n == 0:
        return False
    width = len(EOR)
    offsets = np.frombuffer(eor.buffers()[1], dtype=np.int32, count=n + 1, offset=4 * eor.offset)
    first, last = int(offsets[0]), int(offsets[-1])
    if last - first != width * n or not bool((np.diff(offsets) == width).all()):
        return False
    data = eor.buffers()[2]
    return data is not None and data.slice(first, last - first).equals(_eor_run(n))


_EOR_RUN: list[pa.Buffer] = [pa.py_buffer(b"")]


def _eor_run(n: int) -> pa.Buffer:
    """``EOR * n`` as a buffer, cached for the largest n seen (blocks have about the same size)."""
    unit = EOR.encode("ascii")
    if _EOR_RUN[0].size < len(unit) * n:
        _EOR_RUN[0] = pa.py_buffer(unit * max(n, 1 << 15))
    return _EOR_RUN[0].slice(0, len(unit) * n)


def _fast_small_int(
    values: np.ndarray, lo: int, hi: int, sentinel: int | None
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Float column → (int16 values, sentinel mask or None) when every value is an integer in [lo, hi] or
    the sentinel; None otherwise (or when the range does not fit int16)."""
    limit = 2**15
    if not (-limit <= lo and hi < limit and (sentinel is None or -limit <= sentinel < limit)):
        return None
    with np.errstate(invalid="ignore"):
        ints = values.astype(np.int16)
    ok = ints == values  # NaN, ±inf, fractions and anything outside int16 fail here
    in_range = (ints >= lo) & (ints <= hi) if lo else ints.view(np.uint16) <= hi
    mask = None
    if sentinel is not None:
        sent = ints == sentinel
        if sent.any():
            in_range |= sent
            mask = sent
    ok &= in_range
    if not ok.all():
        return None
    return ints, mask


def _with_nulls(original: pa.Array, mask: np.ndarray | None, typ: pa.DataType) -> pa.Array:
    """A float64 CSV column with NULL where ``mask`` is set: the values buffer is shared, not copied."""
    if mask is None:
        return original
    if original.offset or original.null_count:
        return pa.array(original.to_numpy(), type=typ, mask=mask)
    validity = pa.py_buffer(np.packbits(~mask, bitorder="little"))
    return pa.Array.from_buffers(
        typ, len(original), [validity, original.buffers()[1]], null_count=int(np.count_nonzero(mask))
    )


def _int_array(ints: np.ndarray, mask: np.ndarray | None, typ: pa.DataType) -> pa.Array:
    out = ints.astype(typ.to_pandas_dtype())
    if mask is None:
        return pa.array(out, type=typ)
    out[mask] = 0
    return pa.array(out, type=typ, mask=mask)


def _fast_timestamps(md: np.ndarray) -> np.ndarray | None:
    """MESS_DATUM → µs for a block that is strictly increasing (the normal case), else None.

    Increasing YYYYMMDDHH values need the range checked at the ends only, and the hour at the end of each
    day's run only (it is the largest); each day's date is converted once."""
    with np.errstate(invalid="ignore"):
        v = md.astype(np.int64)
    if not (v == md).all():
        return None
    if len(v) > 1 and not (v[1:] > v[:-1]).all():
        return None
    if not (v[0] >= _MD_LO and v[-1] <= _MD_HI):
        return None
    ymd = np.floor(md / 100)  # exact for integers below 2**53
    starts = np.flatnonzero(ymd[1:] != ymd[:-1]) + 1
    starts = np.concatenate(([0], starts))
    ends = np.append(starts[1:], len(v)) - 1
    run_ymd = ymd[starts].astype(np.int64)
    if (v[ends] - run_ymd * 100 > 23).any():
        return None
    run_days = _days_since_epoch(run_ymd)
    if isinstance(run_days, int):
        return None
    # µs = (hours since epoch) · 1 h, hours = v + (24 · days − 100 · ymd) per day
    offset = run_days * 24 - run_ymd * 100
    hours = v + np.repeat(offset, np.diff(np.append(starts, len(v))))
    hours *= _US_PER_HOUR
    return hours


def _typed(values: np.ndarray, mask: np.ndarray | None, typ: pa.DataType, original: pa.Array) -> pa.Array:
    """A value column in its registry type with NULL where DWD wrote the sentinel."""
    if pa.types.is_floating(typ):
        # No sentinel in this block: keep pyarrow's own float64 column, no copy.
        return original if mask is None else pa.array(values, type=typ, mask=mask)
    ints = np.where(mask, 0, values) if mask is not None else values
    return pa.array(ints.astype(typ.to_pandas_dtype()), type=typ, mask=mask)


def _convert(batch: pa.RecordBatch, product: Product, station: int | None) -> _Block:
    """One CSV block → validated, typed Arrow columns. Raises _Reject with the block-relative row.

    The fast path (a few vectorised passes over each column) handles every valid, increasing block; at the
    first doubt the block is converted again by ``_convert_general``, which finds and words the problem."""
    block = _convert_fast(batch, product, station)
    return block if block is not None else _convert_general(batch, product, station)


def _convert_fast(batch: pa.RecordBatch, product: Product, station: int | None) -> _Block | None:
    n_cols = batch.num_columns
    if not _eor_ok(batch.column(n_cols - 1)):
        return None
    sid = batch.column(0).to_numpy()
    first = float(sid[0]) if station is None else station
    if station is None and not (math.isfinite(first) and first == math.floor(first) and 0 <= first < 2**31):
        return None
    if not (sid == first).all():
        return None
    ts = _fast_timestamps(batch.column(1).to_numpy())
    if ts is None:
        return None
    sentinel = product.sentinel
    qn = _fast_small_int(batch.column(2).to_numpy(), 0, 127, sentinel)
    if qn is None:
        return None
    columns = [_int_array(qn[0], qn[1], pa.int8())]
    for i, var in enumerate(product.variables):
        original = batch.column(3 + i)
        col = original.to_numpy()
        if pa.types.is_integer(var.arrow_type):
            lo, hi = _INT_RANGES[var.arrow_type]
            conv = _fast_small_int(col, lo, hi, sentinel)
            if conv is None:
                return None
            columns.append(_int_array(conv[0], conv[1], var.arrow_type))
        else:
            if not np.isfinite(col).all() or not pa.types.is_float64(var.arrow_type):
                return None
            sent = col == sentinel
            columns.append(_with_nulls(original, sent if sent.any() else None, var.arrow_type))
    return _Block(int(first), ts, columns, increasing=True)


def _convert_general(batch: pa.RecordBatch, product: Product, station: int | None) -> _Block:
    n_cols = batch.num_columns
    eor = batch.column(n_cols - 1)
    eq = pc.equal(eor, EOR)
    if not pc.all(eq).as_py():
        bad = _first_false(eq.to_numpy(zero_copy_only=False))
        raise _Reject(f"last field is {eor[bad].as_py()!r}, not {EOR!r} (truncated or malformed line)", bad)
    sid = batch.column(0).to_numpy()
    _check_int(sid, 0, 2**31 - 1, "STATIONS_ID")
    first = int(sid[0]) if station is None else station
    same = sid == first
    if not same.all():
        bad = _first_false(same)
        raise _Reject(f"STATIONS_ID {int(sid[bad])} differs from the file's station {first}", bad)
    ts = _timestamps(batch.column(1).to_numpy())
    qn = batch.column(2).to_numpy()
    qn_mask = _check_int(qn, 0, 127, product.quality_column, allow_sentinel=product.sentinel)
    columns = [_typed(qn, qn_mask, pa.int8(), batch.column(2))]
    for i, var in enumerate(product.variables):
        original = batch.column(3 + i)
        col = original.to_numpy()
        if pa.types.is_integer(var.arrow_type):
            lo, hi = _INT_RANGES[var.arrow_type]
            mask = _check_int(col, lo, hi, var.dwd_name, allow_sentinel=product.sentinel)
        else:
            fin = np.isfinite(col)
            if not fin.all():
                bad = _first_false(fin)
                raise _Reject(f"{var.dwd_name} value {col[bad]!r} is not a finite number", bad)
            sentinel = col == product.sentinel
            mask = sentinel if sentinel.any() else None
        columns.append(_typed(col, mask, var.arrow_type, original))
    return _Block(first, ts, columns)


def _primary_periods(periods: list[TimePeriod], parameter: str) -> list[TimePeriod]:
    """``parameter``'s periods sorted by start, or [] when every one of them is UTC (nothing to do)."""
    own = sorted((p for p in periods if p.parameter == parameter), key=lambda p: (p.start, p.end))
    return own if any(p.reference != "UTC" for p in own) else []


def _period_index(ts_local: np.ndarray, own: list[TimePeriod]) -> np.ndarray:
    """Per row, the index in ``own`` of the period its local timestamp lies in, or -1 (outside every one)."""
    epoch = date(1970, 1, 1)
    starts = np.array([(p.start - epoch).days for p in own], dtype=np.int64)
    ends = np.array([(p.end - epoch).days for p in own], dtype=np.int64)
    day = ts_local // _US_PER_DAY
    # Overlapping periods (DWD repeats a boundary day): the period that starts last wins.
    idx = np.searchsorted(starts, day, side="right") - 1
    inside = idx >= 0
    idx_safe = np.where(inside, idx, 0)
    inside &= day <= ends[idx_safe]
    return np.where(inside, idx, -1)


Opener = Callable[[], IO[bytes]]


def _scan_lines(open_stream: Opener, product: Product) -> tuple[int, str] | None:
    """Slow path, only after a block was rejected: the first bad line and why, checked line by line."""
    header = product.header
    n_fields = len(header)
    # Per column: (name, integral, lo, hi, sentinel allowed). Station and time are handled after the loop.
    specs: list[tuple[str, bool, float, float, bool]] = [
        (header[0], True, 0, 2**31 - 1, False),
        (header[1], True, 1_000_010_100, 9_999_123_123, False),
        (header[2], True, 0, 127, True),
    ]
    for var in product.variables:
        if pa.types.is_integer(var.arrow_type):
            int_lo, int_hi = _INT_RANGES[var.arrow_type]
            specs.append((var.dwd_name, True, int_lo, int_hi, True))
        else:
            specs.append((var.dwd_name, False, -math.inf, math.inf, True))
    sentinel = float(product.sentinel)
    seen: dict[int, int] = {}
    station: int | None = None
    with open_stream() as raw:
        text = io.TextIOWrapper(raw, encoding="latin-1", newline=None)
        for line_no, line in enumerate(text, start=1):
            line = line.rstrip("\n")
            if line_no == 1 or line == "":
                continue
            fields = line.split(";")
            if len(fields) != n_fields:
                return (
                    line_no,
                    f"expected {n_fields} fields, found {len(fields)} (truncated or malformed line)",
                )
            if fields[-1] != EOR:
                return line_no, f"last field is {fields[-1]!r}, not {EOR!r} (truncated or malformed line)"
            numbers: list[float] = []
            for (name, integral, lo, hi, sentinel_ok), token in zip(specs, fields, strict=False):
                value = token.strip(_PAD)
                if not _NUMBER.fullmatch(value):
                    return line_no, f"non-numeric value {value!r} in column {name}"
                number = float(value)
                numbers.append(number)
                if not math.isfinite(number):
                    return line_no, f"{name} value {value!r} is not a finite number"
                if sentinel_ok and number == sentinel:
                    continue
                if integral and number != math.floor(number):
                    return line_no, f"{name} value {value!r} is not an integer"
                if not lo <= number <= hi:
                    return line_no, f"{name} value {value!r} is out of range"
            sid = int(numbers[0])
            station = sid if station is None else station
            if sid != station:
                return line_no, f"STATIONS_ID {sid} differs from the file's station {station}"
            md = int(numbers[1])
            try:
                date(md // 1_000_000, md // 10_000 % 100, md // 100 % 100)
                if md % 100 > 23:
                    raise ValueError(md)
            except ValueError:
                return line_no, f"MESS_DATUM {md} is not a valid YYYYMMDDHH timestamp"
            if md in seen:
                return line_no, f"duplicate MESS_DATUM {md} (first on line {seen[md]})"
            seen[md] = line_no
    return None


def _fail(
    open_stream: Opener, product: Product, file_name: str, problem: str, row: int | None
) -> DwdFormatError:
    """Build the error for a rejected file: the exact line from the slow scan, else the block's guess."""
    found = _scan_lines(open_stream, product)
    if found is not None:
        return DwdFormatError(file_name, found[1], line=found[0])
    # Rows are counted without blank lines, so this line number is a best guess.
    return DwdFormatError(file_name, problem, line=row + 2 if row is not None else None)


def _arrow_problem(exc: pa.ArrowInvalid) -> str:
    msg = str(exc)
    if "Empty CSV" in msg:
        return "no data rows after the header"
    return f"cannot parse the produkt table: {msg.splitlines()[0]}"


def _parse_stream(
    open_stream: Opener, product: Product, *, file_name: str, periods: Iterable[TimePeriod] | None
) -> _Parsed:
    value_names = [v.column for v in product.variables]
    names = ["station_id", "mess_datum", "qn", *value_names, EOR]
    types: dict[str, pa.DataType] = {n: pa.float64() for n in names}
    types[EOR] = pa.string()
    blocks: list[_Block] = []
    station: int | None = None
    rows_before = 0
    with open_stream() as stream:
        _check_header(stream.readline(_MAX_HEADER), product, file_name)
        try:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(column_names=names, block_size=_BLOCK_SIZE),
                parse_options=pacsv.ParseOptions(delimiter=";", quote_char=False),
                convert_options=pacsv.ConvertOptions(
                    column_types=types,
                    include_columns=names,
                    null_values=[],
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            for batch in reader:
                if batch.num_rows == 0:
                    continue
                try:
                    block = _convert(batch, product, station)
                except _Reject as rej:
                    raise _fail(
                        open_stream, product, file_name, rej.problem, rows_before + (rej.row or 0)
                    ) from None
                station = block.station
                rows_before += batch.num_rows
                blocks.append(block)
        except pa.ArrowInvalid as exc:
            if "Empty CSV" in str(exc):
                raise DwdFormatError(file_name, "empty file: no data rows after the header", line=2) from None
            raise _fail(open_stream, product, file_name, _arrow_problem(exc), None) from None
    if not blocks:
        raise DwdFormatError(file_name, "empty file: no data rows after the header", line=2)
    return _assemble(blocks, product, open_stream, file_name, list(periods or ()))


@dataclass
class _Parsed:
    table: pa.Table
    station: int
    dropped: list[DroppedPeriod]


def _assemble(
    blocks: list[_Block], product: Product, open_stream: Opener, file_name: str, periods: list[TimePeriod]
) -> _Parsed:
    """Blocks → one table. Fast path (no MEZ or unconvertible row, already increasing): the blocks' arrays as
    chunks, no copy. Otherwise rows of unconvertible periods are left out (and counted per period), and the
    rest is shifted, sorted and de-duplicated by the collision rule."""
    schema = produkt_schema(product)
    station = blocks[0].station
    own = _primary_periods(periods, product.primary_variable.dwd_name)
    shift = np.array([_SHIFT_HOURS.get(p.reference, -1) for p in own], dtype=np.int64)
    # Per block: the row's period index (None: no row lies in a non-UTC period of the primary variable).
    idx_parts: list[np.ndarray | None] = []
    for b in blocks:
        idx = _period_index(b.ts, own) if own else None
        idx_parts.append(idx if idx is not None and bool((shift[idx[idx >= 0]] != 0).any()) else None)
    increasing = all(b.increasing or bool(np.all(b.ts[1:] > b.ts[:-1])) for b in blocks) and all(
        a.ts[-1] < b.ts[0] for a, b in itertools.pairwise(blocks)
    )
    chunks: list[list[pa.Array]] = [[] for _ in schema]
    # The station is one value for the whole file: every chunk is a zero-copy slice of one shared array,
    # so the column costs one block's worth of memory instead of 4 bytes per row.
    stations = pa.array(np.full(max(len(b.ts) for b in blocks), station, dtype=np.int32), type=pa.int32())
    for block in blocks:
        n = len(block.ts)
        chunks[0].append(stations.slice(0, n))
        chunks[1].append(pa.array(block.ts, type=pa.int64()).view(schema.field("ts").type))
        for i, col in enumerate(block.columns):
            chunks[2 + i].append(col)
    table = pa.Table.from_arrays(
        [pa.chunked_array(c, type=f.type) for c, f in zip(chunks, schema, strict=True)], schema=schema
    )
    if increasing and all(m is None for m in idx_parts):
        return _Parsed(table, station, [])

    ts = np.concatenate([b.ts for b in blocks])
    if not increasing and len(np.unique(ts)) != len(ts):
        raise _fail(open_stream, product, file_name, "duplicate MESS_DATUM", None)
    # Row positions that stay, and each one's shift in hours (0 outside every non-UTC period).
    rows = np.arange(len(ts))
    hours = np.zeros(len(ts), dtype=np.int64)
    dropped: list[DroppedPeriod] = []
    if any(m is not None for m in idx_parts):
        idx = np.concatenate(
            [m if m is not None else np.full(len(b.ts), -1) for m, b in zip(idx_parts, blocks, strict=True)]
        )
        hours = np.where(idx >= 0, shift[np.maximum(idx, 0)], 0)
        unconvertible = hours < 0
        if unconvertible.any():
            counts = np.bincount(idx[unconvertible], minlength=len(own))
            dropped = [
                DroppedPeriod(p.parameter, p.start, p.end, p.reference, p.info, int(n))
                for p, n in zip(own, counts, strict=True)
                if n
            ]
            rows = np.flatnonzero(~unconvertible)
            ts, hours = ts[rows], hours[rows]
    mez = hours > 0
    ts = ts - hours * _US_PER_HOUR
    order = np.argsort(ts, kind="stable")
    ts = ts[order]
    dup = ts[1:] == ts[:-1]
    if dup.any():
        # Only a shifted MEZ row can meet another row (raw duplicates were rejected above): the UTC row stays.
        mez_sorted = mez[order]
        drop = np.zeros(len(ts), dtype=bool)
        drop[1:] |= dup & mez_sorted[1:]
        drop[:-1] |= dup & mez_sorted[:-1]
        keep = ~drop
        order, ts = order[keep], ts[keep]
    table = table.take(pa.array(rows[order], type=pa.int64()))
    table = table.set_column(
        1, schema.field("ts"), pa.array(ts, type=pa.int64()).view(schema.field("ts").type)
    )
    return _Parsed(table, station, dropped)


def parse_produkt(
    data: bytes, product: Product, *, file_name: str, periods: list[TimePeriod] | None = None
) -> pa.Table:
    """A ``produkt_*.txt`` file → Arrow (``produkt_schema(product)``), sorted by UTC ``ts``, one row per hour.

    ``periods`` come from the same zip's Metadaten_Parameter; without them every row is taken as UTC. Rows in
    a MOZ or unknown period are not in the table; ``read_produkt_zip`` reports how many (``dropped``).
    """
    return _parse_stream(lambda: io.BytesIO(data), product, file_name=file_name, periods=periods).table


# --------------------------------------------------------------------------------------------------------
# a whole zip


@dataclass
class ProduktZip:
    """One parsed station zip: the produkt table plus the metadata that came with it."""

    product: Product
    station_id: int
    period: Period
    table: pa.Table
    periods: list[TimePeriod]
    geography: pa.Table | None
    produkt_name: str
    #: The produkt entry's zip timestamp (naive, as DWD stored it); orders recent releases (docs/design.md §5).
    produkt_modified: datetime
    #: Rows left out per MOZ/unknown period of the primary variable (module doc); empty for most files.
    dropped: list[DroppedPeriod] = field(default_factory=list)

    @property
    def rows_dropped(self) -> int:
        return sum(d.rows for d in self.dropped)


def _members(names: list[str], prefix: str) -> list[str]:
    return [n for n in names if PurePosixPath(n).name.startswith(prefix) and n.lower().endswith(".txt")]


def read_produkt_zip(
    data: bytes,
    *,
    file_name: str,
    product: Product | None = None,
    max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED,
) -> ProduktZip:
    """Parse a station zip (``stundenwerte_<CODE>_<SSSSS>_…zip``): exactly one produkt file, its periods
    from Metadaten_Parameter applied, Metadaten_Geographie parsed. ``product``, when given, must match."""
    name = parse_zip_name(file_name)
    if product is not None and product.code != name.product.code:
        raise DwdFormatError(
            file_name,
            f"zip holds product {name.product.code}, but {product.name} ({product.code}) was expected",
        )
    product = name.product
    archive = SafeZip(data, file_name=file_name, max_uncompressed_bytes=max_uncompressed_bytes)
    try:
        names = archive.names()
        produkts = _members(names, PRODUKT_PREFIX)
        if len(produkts) != 1:
            found = ", ".join(produkts) if produkts else "none"
            raise DwdFormatError(
                file_name, f"expected exactly one produkt_*.txt member, found {len(produkts)} ({found})"
            )
        produkt = produkts[0]
        periods: list[TimePeriod] = []
        for member in _members(names, "Metadaten_Parameter"):
            periods += parse_parameter_metadata(archive.read(member), file_name=f"{file_name}:{member}")
        geography: pa.Table | None = None
        geos = _members(names, "Metadaten_Geographie")
        if geos:
            geography = pa.concat_tables(
                [parse_geography(archive.read(g), file_name=f"{file_name}:{g}") for g in geos]
            )
        parsed = _parse_stream(
            lambda: archive.open(produkt), product, file_name=f"{file_name}:{produkt}", periods=periods
        )
        stamp = archive.info(produkt).date_time
        try:
            modified = datetime(*stamp)
        except ValueError:
            raise DwdFormatError(file_name, f"produkt entry has an invalid zip timestamp {stamp}") from None
    finally:
        archive.close()
    # From the parsed rows, not the table: every row may have been left out (an all-MOZ file).
    station = parsed.station
    if station != name.station_id:
        raise DwdFormatError(
            f"{file_name}:{produkt}",
            f"data are for station {station}, the zip name says {name.station_id}",
            line=2,
        )
    return ProduktZip(
        product,
        name.station_id,
        name.period,
        parsed.table,
        periods,
        geography,
        produkt,
        modified,
        parsed.dropped,
    )
