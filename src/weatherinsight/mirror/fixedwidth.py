"""Fast, vectorised writing of DWD produkt text (FORMAT §2.1): fixed-width fields as a uint8 matrix.

Every field is looked up in a pre-formatted table (one row per possible value) and the rows of all fields
are concatenated column-wise, so a file of 100 000 rows is a handful of numpy operations. A field whose
``-999`` is narrower than its values (RF_TU writes ``-999`` in 4 characters, its values in 6) is padded with
NUL bytes in the matrix, which are squeezed out at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from weatherinsight.dwd.products import SENTINEL

#: Range of one-decimal values the tables cover, in tenths (-150.0 .. 1200.0).
_FLOAT_LO, _FLOAT_HI = -1500, 12000
_INT_LO, _INT_HI = -999, 999
_NUL = 0


@dataclass(frozen=True)
class FieldFormat:
    """How one value column is written: width, decimals (0 or 1) and the width of its ``-999``."""

    width: int
    decimals: int
    sentinel_width: int | None = None


def _table(strings: list[str], width: int) -> np.ndarray:
    data = "".join(s.rjust(width) for s in strings).encode("ascii")
    return np.frombuffer(data, dtype=np.uint8).reshape(len(strings), width)


def _sentinel_row(width: int, sentinel_width: int) -> str:
    text = str(SENTINEL).rjust(sentinel_width)
    return "\x00" * (width - len(text)) + text


@lru_cache(maxsize=64)
def _value_table(width: int, decimals: int, sentinel_width: int) -> np.ndarray:
    """Rows for every value of the range plus a last row holding the sentinel."""
    if decimals == 1:
        strings = [f"{i / 10:.1f}" for i in range(_FLOAT_LO, _FLOAT_HI + 1)]
    else:
        strings = [str(i) for i in range(_INT_LO, _INT_HI + 1)]
    strings.append(_sentinel_row(width, sentinel_width))
    table = _table(strings, width)
    table.setflags(write=False)
    return table


def value_field(values: np.ndarray, missing: np.ndarray, fmt: FieldFormat) -> np.ndarray:
    """The (n, width) byte matrix of one column; ``missing`` rows get DWD's ``-999``."""
    table = _value_table(fmt.width, fmt.decimals, fmt.sentinel_width or fmt.width)
    if fmt.decimals == 1:
        idx = np.clip(np.rint(values * 10.0).astype(np.int64), _FLOAT_LO, _FLOAT_HI) - _FLOAT_LO
    else:
        idx = np.clip(np.asarray(values, dtype=np.int64), _INT_LO, _INT_HI) - _INT_LO
    idx = np.where(missing, table.shape[0] - 1, idx)
    return table[idx]


def text_field(values: np.ndarray, missing: np.ndarray, width: int) -> np.ndarray:
    """The (n, width) byte matrix of a letter column (cloudiness V_N_I); ``missing`` rows get ``-999``."""
    uniques, inverse = np.unique(values, return_inverse=True)
    table = _table([*(str(u) for u in uniques), str(SENTINEL)], width)
    return table[np.where(missing, len(uniques), inverse.reshape(-1))]


def constant_field(text: str, n: int) -> np.ndarray:
    row = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    return np.broadcast_to(row, (n, row.size))


_HOURS = np.frombuffer("".join(f"{h:02d}" for h in range(24)).encode("ascii"), dtype=np.uint8).reshape(24, 2)


def timestamp_field(hours: np.ndarray) -> np.ndarray:
    """``YYYYMMDDHH`` for datetime64[h] values, as an (n, 10) byte matrix (a per-day lookup table)."""
    out = np.empty((hours.size, 10), dtype=np.uint8)
    if hours.size == 0:
        return out
    days = hours.astype("datetime64[D]")
    first = days.min()
    day_index = (days - first).astype(np.int64)
    calendar = np.datetime_as_string(first + np.arange(int(day_index.max()) + 1), unit="D").astype("S10")
    digits = calendar.view(np.uint8).reshape(-1, 10)[:, [0, 1, 2, 3, 5, 6, 8, 9]]  # drop the dashes
    out[:, :8] = digits[day_index]
    out[:, 8:] = _HOURS[(hours - days).astype(np.int64)]
    return out


def join_rows(
    fields: list[np.ndarray], *, separator: bytes = b";", line_end: bytes = b"eor\r\n", squeeze: bool = True
) -> bytes:
    """Concatenate field matrices into ``f1;f2;…;eor\\r\\n`` lines; NUL padding is removed (``squeeze``)."""
    n = fields[0].shape[0]
    sep = constant_field(separator.decode("ascii"), n)
    parts: list[np.ndarray] = []
    for f in fields:
        parts.append(f)
        parts.append(sep)
    parts.append(constant_field(line_end.decode("ascii"), n))
    matrix = np.concatenate(parts, axis=1)
    flat = matrix.ravel()
    if squeeze and (flat == _NUL).any():
        flat = flat[flat != _NUL]
    return flat.tobytes()
