"""Reading a whole station zip (``stundenwerte_<CODE>_<SSSSS>_…zip``): its produkt table with the periods of
Metadaten_Parameter applied, its Metadaten_Geographie, and the produkt entry's timestamp."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

import pyarrow as pa

from weatherinsight.dwd.files import DEFAULT_MAX_UNCOMPRESSED, PRODUKT_PREFIX, Period, SafeZip, parse_zip_name
from weatherinsight.dwd.metadata import DroppedPeriod, TimePeriod, parse_geography, parse_parameter_metadata
from weatherinsight.dwd.products import Product
from weatherinsight.dwd.produkt import parse_stream
from weatherinsight.dwd.produkt_skip import Window
from weatherinsight.errors import DwdFormatError


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
    #: The produkt entry's zip timestamp (naive, as DWD stored it); orders recent releases (DESIGN §5).
    produkt_modified: datetime
    #: Rows left out per MOZ/unknown period of the primary variable (module doc); empty for most files.
    dropped: list[DroppedPeriod] = field(default_factory=list)
    #: The whole file's rows and first/last UTC hour (µs since the epoch; None without rows). With a parse
    #: window (``read_produkt_zip(window=…)``) ``table`` may hold only the wanted rows (``partial``).
    rows: int = 0
    first_us: int | None = None
    last_us: int | None = None
    partial: bool = False

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
    window: Window | None = None,
) -> ProduktZip:
    """Parse a station zip (``stundenwerte_<CODE>_<SSSSS>_…zip``): exactly one produkt file, its periods
    from Metadaten_Parameter applied, Metadaten_Geographie parsed. ``product``, when given, must match.
    ``window``: parse only the produkt lines of those hours (``dwd.produkt_skip``; the counts stay whole)."""
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
        parsed = parse_stream(
            lambda: archive.open(produkt),
            product,
            file_name=f"{file_name}:{produkt}",
            periods=periods,
            window=window,
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
        parsed.rows,
        parsed.first,
        parsed.last,
        parsed.partial,
    )
