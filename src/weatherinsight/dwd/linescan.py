"""The slow line-by-line scan of a rejected produkt file: the first bad line and why, for the error message.

Runs only after a block was rejected (``dwd.blocks``); it re-reads the file so the
:class:`~weatherinsight.errors.DwdFormatError` names the exact line, which block offsets cannot.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from datetime import date
from typing import IO

import pyarrow as pa

from weatherinsight.dwd.blocks import INT_RANGES
from weatherinsight.dwd.products import EOR, Product
from weatherinsight.dwd.text import NUMBER, PAD
from weatherinsight.errors import DwdFormatError

#: Opens the produkt member afresh (a zip member stream or bytes), so the file can be read twice.
Opener = Callable[[], IO[bytes]]


def scan_lines(open_stream: Opener, product: Product) -> tuple[int, str] | None:
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
            int_lo, int_hi = INT_RANGES[var.arrow_type]
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
                value = token.strip(PAD)
                if not NUMBER.fullmatch(value):
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


def fail(
    open_stream: Opener, product: Product, file_name: str, problem: str, row: int | None
) -> DwdFormatError:
    """Build the error for a rejected file: the exact line from the slow scan, else the block's guess."""
    found = scan_lines(open_stream, product)
    if found is not None:
        return DwdFormatError(file_name, found[1], line=found[0])
    # Rows are counted without blank lines, so this line number is a best guess.
    return DwdFormatError(file_name, problem, line=row + 2 if row is not None else None)


def arrow_problem(exc: pa.ArrowInvalid) -> str:
    msg = str(exc)
    if "Empty CSV" in msg:
        return "no data rows after the header"
    return f"cannot parse the produkt table: {msg.splitlines()[0]}"
