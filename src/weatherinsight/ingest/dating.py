"""The days a stored raw file's data cover, which decide the quarters of its raw dataset versions.

A historical zip names its range (``stundenwerte_TU_00044_20070401_20211231_hist.zip``). A recent zip does
not (``…_akt.zip``), but its produkt member does (``produkt_tu_stunde_20180304_20190904_01975.txt``), so the
stored zip's directory is read (only the central directory, a ranged read on object stores) and that range
is used (learnt while the download was verified, or read from the stored copy). Counting back from today would date an archive of 2018 files as 2025–2026 (issue #17). Only when
the stored zip cannot be read or has no such member is the range estimated from the file's release date
(``last_modified``, else when we fetched it), never from today.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from weatherinsight.dwd.files import parse_zip_name, produkt_name_range
from weatherinsight.errors import DwdFormatError
from weatherinsight.logs import get_logger
from weatherinsight.storage.raw import RawStore

log = get_logger(__name__)

#: A recent file holds the 550 days before its release (FORMAT §1.1); one spare day for the release lag.
RECENT_SPAN = timedelta(days=551)


def members_range(names: Iterable[str], where: str) -> tuple[date, date] | None:
    """The (first, last) day named by the produkt member among a zip's member ``names``, or None."""
    for name in names:
        try:
            span = produkt_name_range(name.rsplit("/", 1)[-1])
        except DwdFormatError as exc:
            log.warning("ingest.dating.bad_member_name", path=where, reason=str(exc))
            continue
        if span is not None:
            return span
    return None


def produkt_range(store: RawStore, product: str, period: str, file_name: str) -> tuple[date, date] | None:
    """The (first, last) day named by the stored zip's produkt member, or None when there is none to read."""
    path = store.path(product, period, file_name)
    try:
        with store.fs.open(path, "rb") as fh, zipfile.ZipFile(fh) as zf:
            names = zf.namelist()
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        log.warning("ingest.dating.unreadable", path=path, reason=str(exc))
        return None
    return members_range(names, path)


def _released(row: dict[str, Any]) -> datetime | None:
    for key in ("last_modified", "fetched_at"):
        value = row.get(key)
        if isinstance(value, datetime):
            return value
    return None


def file_data_range(
    store: RawStore, product: str, row: dict[str, Any], member_range: tuple[date, date] | None = None
) -> tuple[date, date] | None:
    """The days the ``raw_files`` row's file holds: its name's range, its produkt member's range (
    ``member_range`` when the caller learnt it while verifying these bytes, else read from the stored zip),
    or (last resort, logged) the 550 days before its release. None for a name that is no DWD zip name."""
    try:
        zn = parse_zip_name(row["file_name"])
    except DwdFormatError:
        return None
    if zn.start is not None and zn.end is not None:
        return zn.start, zn.end
    span = member_range or produkt_range(store, product, row["period"], row["file_name"])
    if span is not None:
        return span
    released = _released(row)
    if released is None:
        return None
    log.warning("ingest.dating.estimated", file=row["file_name"], released=released.isoformat())
    return (released - RECENT_SPAN).date(), released.date()
