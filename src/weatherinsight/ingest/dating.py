"""The days a stored raw file's data cover, which decide the quarters of its raw dataset versions.

A historical zip names its range (``stundenwerte_TU_00044_20070401_20211231_hist.zip``). A recent zip does
not (``…_akt.zip``), but its produkt member does (``produkt_tu_stunde_20180304_20190904_01975.txt``), so the
member's name and range are learnt while the download is verified and kept on the ``raw_files`` row
(migration 0008), so dating reads the row and opens no zip. Only rows stored before that migration (NULL
member columns) make it read the stored zip's directory (only the central directory, a ranged read on
object stores); ``ingest.record`` then fills the columns in, so that happens once per file. Counting back from today would date an archive of 2018 files as 2025–2026 (issue #17). Only when
the stored zip cannot be read or has no such member is the range estimated from the file's release date
(``last_modified``, else when we fetched it), never from today.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from weatherinsight.dwd.files import parse_zip_name, produkt_name_range
from weatherinsight.errors import DwdFormatError
from weatherinsight.logs import get_logger
from weatherinsight.storage.raw import RawStore

log = get_logger(__name__)

#: A recent file holds the 550 days before its release (FORMAT §1.1); one spare day for the release lag.
RECENT_SPAN = timedelta(days=551)


class ProduktMember(NamedTuple):
    """A zip's produkt member: its name and the first and last day that name claims."""

    name: str
    first: date
    last: date


def produkt_member(names: Iterable[str], where: str) -> ProduktMember | None:
    """The produkt member among a zip's member ``names`` (with the days its name claims), or None."""
    for name in names:
        try:
            span = produkt_name_range(name.rsplit("/", 1)[-1])
        except DwdFormatError as exc:
            log.warning("ingest.dating.bad_member_name", path=where, reason=str(exc))
            continue
        if span is not None:
            return ProduktMember(name, *span)
    return None


def produkt_range(store: RawStore, product: str, period: str, file_name: str) -> ProduktMember | None:
    """The produkt member of the stored zip (opened: only its directory is read), or None when there is
    none to read."""
    path = store.path(product, period, file_name)
    try:
        with store.fs.open(path, "rb") as fh, zipfile.ZipFile(fh) as zf:
            names = zf.namelist()
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        log.warning("ingest.dating.unreadable", path=path, reason=str(exc))
        return None
    return produkt_member(names, path)


def recorded_member(row: dict[str, Any]) -> ProduktMember | None:
    """The produkt member the ``raw_files`` row recorded at ingest (None for rows stored before 0008)."""
    name, first, last = row.get("member_name"), row.get("member_first_day"), row.get("member_last_day")
    if name is None or first is None or last is None:
        return None
    return ProduktMember(name, first, last)


def needs_stored_member(row: dict[str, Any]) -> bool:
    """Whether dating the row must open its stored zip: a zip name without days and no recorded member."""
    try:
        zn = parse_zip_name(row["file_name"])
    except DwdFormatError:
        return False
    return (zn.start is None or zn.end is None) and recorded_member(row) is None


def _released(row: dict[str, Any]) -> datetime | None:
    for key in ("last_modified", "fetched_at"):
        value = row.get(key)
        if isinstance(value, datetime):
            return value
    return None


def file_data_range(
    store: RawStore, product: str, row: dict[str, Any], member: ProduktMember | None = None
) -> tuple[date, date] | None:
    """The days the ``raw_files`` row's file holds: its name's range, its produkt member's range (recorded
    on the row, or ``member`` when the caller already read it, else read from the stored zip), or (last
    resort, logged) the 550 days before its release. None for a name that is no DWD zip name."""
    try:
        zn = parse_zip_name(row["file_name"])
    except DwdFormatError:
        return None
    if zn.start is not None and zn.end is not None:
        return zn.start, zn.end
    known = member or recorded_member(row) or produkt_range(store, product, row["period"], row["file_name"])
    if known is not None:
        return known.first, known.last
    released = _released(row)
    if released is None:
        return None
    log.warning("ingest.dating.estimated", file=row["file_name"], released=released.isoformat())
    return (released - RECENT_SPAN).date(), released.date()
