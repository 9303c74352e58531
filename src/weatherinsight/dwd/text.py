"""The field syntax shared by DWD's text files: encoding, trailer lines, YYYYMMDD dates and numbers."""

from __future__ import annotations

import math
import re
from datetime import date

from weatherinsight.errors import DwdFormatError

#: pyarrow trims exactly these around numbers; the line scanner must agree with it.
PAD = " \t"
#: The number syntax pyarrow's float parser accepts (nan/inf are parsed too and rejected as non-finite).
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|infinity)", re.IGNORECASE)


def decode(data: bytes) -> str:
    """Strict UTF-8 first, latin-1 otherwise (FORMAT §4.1: DWD's metadata are latin-1)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def is_trailer(line: str) -> bool:
    """A "Legende"/"generiert" line at the end of a metadata file (not data)."""
    head = line.lstrip().lower()
    return head.startswith(("legende", "generiert"))


def date8(text: str, file_name: str, line: int, what: str) -> date:
    """A ``YYYYMMDD`` field as a date; a :class:`DwdFormatError` naming ``what`` and the line otherwise."""
    text = text.strip()
    if len(text) != 8 or not text.isdigit():
        raise DwdFormatError(file_name, f"{what} {text!r} is not a YYYYMMDD date", line=line)
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError as exc:
        raise DwdFormatError(file_name, f"{what} {text!r} is not a valid date", line=line) from exc


def finite_float(text: str, file_name: str, line: int, what: str) -> float:
    """A finite number field; a :class:`DwdFormatError` naming ``what`` and the line otherwise."""
    text = text.strip()
    if not NUMBER.fullmatch(text) or not math.isfinite(value := float(text)):
        raise DwdFormatError(file_name, f"{what} {text!r} is not a number", line=line)
    return value
