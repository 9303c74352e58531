"""Converting one CSV block of a produkt file into validated, typed Arrow columns (numpy, no per-row loop).

A block that passes the fast path (a few vectorised passes per column) is converted at once; at the first
doubt the general path converts it again and raises :class:`Reject` naming the problem and the row. The
caller (``dwd.produkt``) then asks ``dwd.linescan`` for the exact line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from weatherinsight.dwd.products import EOR, Product

US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR
#: The MESS_DATUM range every value must lie in (YYYYMMDDHH, years 1000-9999).
_MD_LO, _MD_HI = 1_000_010_100, 9_999_123_123
#: Days per month, index 1..12 (February without the leap day).
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
INT_RANGES: dict[pa.DataType, tuple[int, int]] = {
    pa.int8(): (-128, 127),
    pa.int16(): (-32768, 32767),
    pa.int32(): (-(2**31), 2**31 - 1),
}


class Reject(Exception):
    """A block failed a vectorised check; ``row`` is the 0-based data row (for the fallback line number)."""

    def __init__(self, problem: str, row: int | None) -> None:
        self.problem = problem
        self.row = row
        super().__init__(problem)


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
        raise Reject(f"{what} {values[bad]!r} is not an integer in [{lo}, {hi}]", bad)
    return mask if mask is not None and mask.any() else None


def _timestamps(md: np.ndarray) -> np.ndarray:
    """MESS_DATUM (YYYYMMDDHH as float) → microseconds since the epoch, every component validated."""
    ok = np.isfinite(md) & (md == np.floor(md)) & (md >= 1_000_010_100) & (md <= 9_999_123_123)
    if not ok.all():
        bad = _first_false(ok)
        raise Reject(f"MESS_DATUM {md[bad]!r} is not a YYYYMMDDHH value", bad)
    v = md.astype(np.int64)
    ymd = v // 100
    hour = v - ymd * 100
    if (hour > 23).any():
        bad = int(np.argmax(hour > 23))
        raise Reject(f"MESS_DATUM {v[bad]} is not a valid date and hour", bad)
    # Rows come in runs of 24 per day: convert each run's date once and repeat it (much less work).
    starts = np.flatnonzero(np.concatenate(([True], ymd[1:] != ymd[:-1])))
    run_days = days_since_epoch(ymd[starts])
    if isinstance(run_days, int):
        bad = int(starts[run_days])
        raise Reject(f"MESS_DATUM {v[bad]} is not a valid date", bad)
    days = np.repeat(run_days, np.diff(np.append(starts, len(v))))
    result: np.ndarray = days * US_PER_DAY + hour * US_PER_HOUR
    return result


def days_since_epoch(ymd: np.ndarray) -> np.ndarray | int:
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
class Block:
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
    run_days = days_since_epoch(run_ymd)
    if isinstance(run_days, int):
        return None
    # µs = (hours since epoch) · 1 h, hours = v + (24 · days − 100 · ymd) per day
    offset = run_days * 24 - run_ymd * 100
    hours = v + np.repeat(offset, np.diff(np.append(starts, len(v))))
    hours *= US_PER_HOUR
    return hours


def _typed(values: np.ndarray, mask: np.ndarray | None, typ: pa.DataType, original: pa.Array) -> pa.Array:
    """A value column in its registry type with NULL where DWD wrote the sentinel."""
    if pa.types.is_floating(typ):
        # No sentinel in this block: keep pyarrow's own float64 column, no copy.
        return original if mask is None else pa.array(values, type=typ, mask=mask)
    ints = np.where(mask, 0, values) if mask is not None else values
    return pa.array(ints.astype(typ.to_pandas_dtype()), type=typ, mask=mask)


def _letters(original: pa.Array, sentinel: int) -> pa.Array:
    """A letter column (cloudiness V_N_I: ``P``/``I``) without its padding; NULL where DWD wrote the sentinel
    or nothing."""
    text = pc.utf8_trim_whitespace(original)
    missing = pc.or_(pc.equal(text, str(sentinel)), pc.equal(text, ""))
    return pc.if_else(missing, pa.scalar(None, pa.string()), text)


def convert(batch: pa.RecordBatch, product: Product, station: int | None) -> Block:
    """One CSV block → validated, typed Arrow columns. Raises Reject with the block-relative row.

    The fast path (a few vectorised passes over each column) handles every valid, increasing block; at the
    first doubt the block is converted again by ``_convert_general``, which finds and words the problem."""
    block = _convert_fast(batch, product, station)
    return block if block is not None else _convert_general(batch, product, station)


def _convert_fast(batch: pa.RecordBatch, product: Product, station: int | None) -> Block | None:
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
        if pa.types.is_string(var.arrow_type):
            columns.append(_letters(original, sentinel))
            continue
        col = original.to_numpy()
        if pa.types.is_integer(var.arrow_type):
            lo, hi = INT_RANGES[var.arrow_type]
            conv = _fast_small_int(col, lo, hi, sentinel)
            if conv is None:
                return None
            columns.append(_int_array(conv[0], conv[1], var.arrow_type))
        else:
            if not np.isfinite(col).all() or not pa.types.is_float64(var.arrow_type):
                return None
            sent = col == sentinel
            columns.append(_with_nulls(original, sent if sent.any() else None, var.arrow_type))
    return Block(int(first), ts, columns, increasing=True)


def _convert_general(batch: pa.RecordBatch, product: Product, station: int | None) -> Block:
    n_cols = batch.num_columns
    eor = batch.column(n_cols - 1)
    eq = pc.equal(eor, EOR)
    if not pc.all(eq).as_py():
        bad = _first_false(eq.to_numpy(zero_copy_only=False))
        raise Reject(f"last field is {eor[bad].as_py()!r}, not {EOR!r} (truncated or malformed line)", bad)
    sid = batch.column(0).to_numpy()
    _check_int(sid, 0, 2**31 - 1, "STATIONS_ID")
    first = int(sid[0]) if station is None else station
    same = sid == first
    if not same.all():
        bad = _first_false(same)
        raise Reject(f"STATIONS_ID {int(sid[bad])} differs from the file's station {first}", bad)
    ts = _timestamps(batch.column(1).to_numpy())
    qn = batch.column(2).to_numpy()
    qn_mask = _check_int(qn, 0, 127, product.quality_column, allow_sentinel=product.sentinel)
    columns = [_typed(qn, qn_mask, pa.int8(), batch.column(2))]
    for i, var in enumerate(product.variables):
        original = batch.column(3 + i)
        if pa.types.is_string(var.arrow_type):
            columns.append(_letters(original, product.sentinel))
            continue
        col = original.to_numpy()
        if pa.types.is_integer(var.arrow_type):
            lo, hi = INT_RANGES[var.arrow_type]
            mask = _check_int(col, lo, hi, var.dwd_name, allow_sentinel=product.sentinel)
        else:
            fin = np.isfinite(col)
            if not fin.all():
                bad = _first_false(fin)
                raise Reject(f"{var.dwd_name} value {col[bad]!r} is not a finite number", bad)
            sentinel = col == product.sentinel
            mask = sentinel if sentinel.any() else None
        columns.append(_typed(col, mask, var.arrow_type, original))
    return Block(first, ts, columns)
