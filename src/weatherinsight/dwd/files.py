"""DWD file names and safe zip opening.

Owns: parsing the zip names of the hourly and daily directories (FORMAT §1.2, §5.1: ``stundenwerte_…`` /
``tageswerte_…``) into a :class:`ZipName` (also when a
stored copy decorates the name, :func:`find_zip_name`), the produkt member's and the station list's names, and
opening
a downloaded zip without trusting it — corrupt archives, zip-slip entry names and zip bombs (declared *and*
actual uncompressed size) all raise :class:`~weatherinsight.errors.DwdFormatError` naming the file.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath, PureWindowsPath
from typing import IO, Literal

from weatherinsight.dwd.products import BY_CODE, DAILY_PRODUCTS, Product
from weatherinsight.errors import DwdFormatError

DEFAULT_MAX_UNCOMPRESSED = 1 << 30
#: Read size when streaming a member; big enough that the Python call overhead does not matter.
_CHUNK = 1 << 20
#: What zipfile raises on damaged archives: besides BadZipFile, a mangled header gives ValueError (negative
#: seek), a flipped flag bit RuntimeError ("encrypted"), an unknown method NotImplementedError.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    RuntimeError,
    NotImplementedError,
)

Period = Literal["recent", "historical"]

#: The zip prefix per resolution (FORMAT §1.2, §5.1) and the daily products by code.
_DAILY_BY_CODE: dict[str, Product] = {p.code: p for p in DAILY_PRODUCTS.values()}
_ZIP_NAME = re.compile(
    r"^(?P<word>stundenwerte|tageswerte)_(?P<code>[A-Z0-9]{1,3})_(?P<station>\d{5})_"
    r"(?:(?P<akt>akt)|(?P<start>\d{8})_(?P<end>\d{8})_hist)\.zip$"
)
#: The produkt member: ``produkt_<code>_stunde_<from>_<to>_<SSSSS>.txt`` (FORMAT §1.3). The legacy layout
#: (``produkt_temp_Terminwerte_…``) also starts with ``produkt_`` so that it reaches the header check and is
#: rejected there with a clear message rather than reported as "no produkt file".
PRODUKT_PREFIX = "produkt_"
_PRODUKT_STATION = re.compile(r"_(\d{5})\.txt$")
#: A DWD zip name anywhere inside a stored name (history copies may carry a prefix or suffix). Any code of
#: one to three characters matches, so that another product's zip is recognised as such (and rejected).
_ZIP_IN_NAME = re.compile(
    r"((?:stundenwerte|tageswerte)_(?P<code>[A-Z0-9]{1,3})_(?P<station>\d{5})_(?:akt|\d{8}_\d{8}_hist))(?:[._-][^/]*)?\.zip$"
)
#: The date range a produkt member's name claims (``…_stunde_<from>_<to>_<SSSSS>.txt``).
_PRODUKT_RANGE = re.compile(PRODUKT_PREFIX + r"[a-z0-9]+_(?:stunde|tag)_(\d{8})_(\d{8})_\d{5}\.txt$")
#: What every station description list's name contains (``<CODE>_Stundenwerte_Beschreibung_Stationen.txt``),
#: compared case-insensitively.
STATION_LIST_MARKER = "beschreibung_stationen"


@dataclass(frozen=True)
class ZipName:
    """What a DWD hourly zip name says: product, station, period and (historical only) the date range."""

    name: str
    product: Product
    station_id: int
    period: Period
    start: date | None
    end: date | None

    @property
    def code(self) -> str:
        return self.product.code


def _date8(text: str, name: str) -> date:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError as exc:
        raise DwdFormatError(name, f"invalid date {text!r} in the zip name") from exc


def parse_zip_name(name: str) -> ZipName:
    """Parse ``stundenwerte_<CODE>_<SSSSS>_akt.zip`` / ``…_<from>_<to>_hist.zip`` (a path prefix is ignored)."""
    base = PurePosixPath(name.replace("\\", "/")).name
    m = _ZIP_NAME.match(base)
    if m is None:
        raise DwdFormatError(
            name,
            "not a DWD hourly or daily zip name (expected stundenwerte_<CODE>_<SSSSS>_akt.zip "
            "or stundenwerte_<CODE>_<SSSSS>_<YYYYMMDD>_<YYYYMMDD>_hist.zip; tageswerte_… for daily)",
        )
    code = m["code"]
    known = _DAILY_BY_CODE if m["word"] == "tageswerte" else BY_CODE
    product = known.get(code)
    if product is None:
        raise DwdFormatError(
            name, f"unknown product code {code!r} of {m['word']} (known: {', '.join(sorted(known))})"
        )
    station = int(m["station"])
    if m["akt"]:
        return ZipName(base, product, station, "recent", None, None)
    start, end = _date8(m["start"], name), _date8(m["end"], name)
    if end < start:
        raise DwdFormatError(name, f"zip name date range ends before it starts ({start} > {end})")
    return ZipName(base, product, station, "historical", start, end)


@dataclass(frozen=True)
class StoredZipName:
    """The DWD zip name found inside a stored file name, with the product code and station it names."""

    name: str
    code: str
    station_id: int


def find_zip_name(stored_name: str) -> StoredZipName | None:
    """The DWD zip name inside a stored name (``_history`` copies may be decorated), or None.

    Unlike :func:`parse_zip_name` this accepts unknown product codes and does not check the dates: it only
    says which DWD file a stored copy is.
    """
    m = _ZIP_IN_NAME.search(PurePosixPath(stored_name).name)
    if m is None:
        return None
    return StoredZipName(f"{m.group(1)}.zip", m["code"], int(m["station"]))


def produkt_name_range(member: str) -> tuple[date, date] | None:
    """The (first, last) day a produkt member's name claims, or None when it is not such a name.

    Raises ``DwdFormatError`` when the name has the shape but a date in it is invalid.
    """
    m = _PRODUKT_RANGE.search(member)
    if m is None:
        return None
    return _date8(m.group(1), member), _date8(m.group(2), member)


def is_station_list(name: str) -> bool:
    """True for a station description list (``<CODE>_Stundenwerte_Beschreibung_Stationen.txt``)."""
    lower = name.lower()
    return lower.endswith(".txt") and STATION_LIST_MARKER in lower


def produkt_station_id(member: str) -> int | None:
    """The station id at the end of a produkt member name, or None when the name has none."""
    m = _PRODUKT_STATION.search(member)
    return int(m.group(1)) if m else None


def _unsafe_name(name: str) -> bool:
    """True for entry names that could escape an extraction directory (zip-slip)."""
    if not name or "\x00" in name:
        return True
    if name.startswith(("/", "\\")) or PureWindowsPath(name).drive:
        return True
    parts = re.split(r"[\\/]", name)
    return any(p == ".." for p in parts)


class _LimitedReader(io.RawIOBase):
    """Reads one zip member and fails once more than ``limit`` bytes came out (the actual-size bomb guard)."""

    def __init__(self, raw: IO[bytes], *, limit: int, file_name: str, member: str) -> None:
        self._raw = raw
        self._limit = limit
        self._file = file_name
        self._member = member
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        try:
            chunk = self._raw.read(len(view))
        except _ZIP_ERRORS as exc:
            raise DwdFormatError(self._file, f"corrupt zip member {self._member!r}: {exc}") from exc
        n = len(chunk)
        self.count += n
        if self.count > self._limit:
            raise DwdFormatError(
                self._file,
                f"zip member {self._member!r} inflates to more than {self._limit} bytes (zip bomb guard)",
            )
        view[:n] = chunk
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


class SafeZip:
    """A zip opened from bytes with every entry checked; members are read through the size guard."""

    def __init__(
        self, data: bytes, *, file_name: str, max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED
    ):
        self.file_name = file_name
        self.limit = max_uncompressed_bytes
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zip.infolist()
        except _ZIP_ERRORS as exc:
            raise DwdFormatError(file_name, f"corrupt zip: {exc}") from exc
        seen: set[str] = set()
        declared = 0
        self.members: list[zipfile.ZipInfo] = []
        for info in infos:
            if _unsafe_name(info.filename):
                raise DwdFormatError(file_name, f"unsafe zip entry name {info.filename!r} (zip-slip guard)")
            if info.is_dir():
                continue
            if info.filename in seen:
                raise DwdFormatError(file_name, f"duplicate zip entry {info.filename!r}")
            seen.add(info.filename)
            declared += info.file_size
            self.members.append(info)
        if declared > max_uncompressed_bytes:
            raise DwdFormatError(
                file_name,
                f"zip declares {declared} uncompressed bytes, more than the limit of "
                f"{max_uncompressed_bytes} (zip bomb guard)",
            )

    def names(self) -> list[str]:
        return [i.filename for i in self.members]

    def info(self, name: str) -> zipfile.ZipInfo:
        for i in self.members:
            if i.filename == name:
                return i
        raise DwdFormatError(self.file_name, f"zip has no member {name!r}")

    def open(self, name: str) -> io.BufferedReader:
        """A buffered stream of one member; reading raises DwdFormatError on corruption or a bomb."""
        info = self.info(name)
        try:
            raw = self._zip.open(info)
        except _ZIP_ERRORS as exc:
            raise DwdFormatError(self.file_name, f"corrupt zip member {name!r}: {exc}") from exc
        return io.BufferedReader(
            _LimitedReader(raw, limit=self.limit, file_name=self.file_name, member=name), buffer_size=_CHUNK
        )

    def read(self, name: str) -> bytes:
        with self.open(name) as stream:
            return stream.read()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def close(self) -> None:
        self._zip.close()


@dataclass(frozen=True)
class ZipMember:
    """One verified member of a zip: its name, inflated size and CRC-32 (as the archive declares and the
    inflated bytes matched)."""

    name: str
    size: int
    crc: int


def verify_zip(
    data: bytes, *, file_name: str, max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED
) -> list[ZipMember]:
    """Check a zip the one time it is downloaded: every member inflated in chunks and discarded (``zipfile``
    compares each CRC at the member's end), behind the corrupt/zip-slip/zip-bomb guards of :class:`SafeZip`;
    what it found per member. Nothing inflated is kept, so a large member costs no memory.

    The limit applies to the sum over all members, declared and actual.
    """
    archive = SafeZip(data, file_name=file_name, max_uncompressed_bytes=max_uncompressed_bytes)
    found: list[ZipMember] = []
    budget = max_uncompressed_bytes
    try:
        for info in archive.members:
            archive.limit = budget
            size = 0
            with archive.open(info.filename) as stream:
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
            budget -= size
            found.append(ZipMember(info.filename, size, info.CRC))
    finally:
        archive.close()
    return found


def read_zip_members(
    data: bytes, *, file_name: str, max_uncompressed_bytes: int = DEFAULT_MAX_UNCOMPRESSED
) -> dict[str, bytes]:
    """All file members of a zip as ``{name: bytes}``, behind the corrupt/zip-slip/zip-bomb guards.

    The limit applies to the sum over all members, declared and actual.
    """
    archive = SafeZip(data, file_name=file_name, max_uncompressed_bytes=max_uncompressed_bytes)
    out: dict[str, bytes] = {}
    budget = max_uncompressed_bytes
    try:
        for name in archive.names():
            archive.limit = budget
            out[name] = archive.read(name)
            budget -= len(out[name])
    finally:
        archive.close()
    return out
