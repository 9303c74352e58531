"""Which files a run fetches: the listing entries of a product/period it selects, what it already holds, and
which of those the listing alone shows unchanged (the quick check: no request at all)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from weatherinsight.dwd.client import RemoteEntry
from weatherinsight.dwd.files import ZipName, parse_zip_name
from weatherinsight.dwd.products import Product
from weatherinsight.errors import DwdFormatError
from weatherinsight.quarters import Quarter
from weatherinsight.warehouse.tables import raw_files


@dataclass(frozen=True)
class Target:
    """One file a run selects: fetched, or found unchanged by the quick check."""

    period: str
    entry: RemoteEntry
    zip_name: ZipName | None  # None for the station list
    known: dict[str, Any] | None  # the current raw_files row, if the store still has the file
    #: The quick check passed (``listing_unchanged``): the file counts as unchanged without a request.
    listed_unchanged: bool = False


def aware(ts: datetime | None) -> datetime | None:
    """``ts`` with UTC attached when the database returned it naive."""
    if ts is None:
        return None
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


#: The resolution of a listing's modified time: a change later within the listed minute shows the same time.
LISTING_RESOLUTION = timedelta(minutes=1)


def listing_unchanged(entry: RemoteEntry, known: dict[str, Any] | None) -> bool:
    """Whether the listing shows the stored file unchanged, like rsync's size-and-time check: the entry's size
    and modified minute are those recorded on the row when a GET fetched or re-validated its bytes, and that
    GET was sent after the listed minute ended. Otherwise — no row, no recorded or listed values, or a GET
    within the minute (a later change in the same minute shows the same time) — the conditional GET decides.

    A row's status is not looked at: the file counts as unchanged, as a 304 would make it, and a quarantined
    row stays quarantined either way."""
    if known is None or entry.size is None or entry.modified is None:
        return False
    listed_modified = aware(known.get("listed_modified"))
    validated_at = aware(known.get("validated_at"))
    if known.get("listed_size") is None or listed_modified is None or validated_at is None:
        return False
    return (
        entry.size == known["listed_size"]
        and entry.modified == listed_modified
        and validated_at >= listed_modified + LISTING_RESOLUTION
    )


def select_entries(
    product: Product,
    period: str,
    entries: list[RemoteEntry],
    stations: set[int] | None,
    quarters: Sequence[Quarter] | None,
) -> tuple[list[tuple[RemoteEntry, ZipName | None]], list[str]]:
    """The listing entries this run fetches, plus the names it ignored (other products, unknown files).

    With ``quarters``, a zip whose name gives its days is fetched only when they overlap one of them (a
    historical zip); a zip without days in its name (a recent one) is always fetched."""
    chosen: list[tuple[RemoteEntry, ZipName | None]] = []
    ignored: list[str] = []
    for e in entries:
        if e.is_dir:
            continue
        if e.name == product.station_list_name:
            chosen.append((e, None))
            continue
        if not e.name.endswith(".zip"):
            ignored.append(e.name)
            continue
        try:
            zn = parse_zip_name(e.name)
        except DwdFormatError:
            ignored.append(e.name)
            continue
        if zn.product.code != product.code or zn.period != period:
            ignored.append(e.name)
            continue
        if stations is not None and zn.station_id not in stations:
            continue
        if quarters is not None and zn.start is not None and zn.end is not None:
            first, last = zn.start, zn.end
            if not any(first < q.end.date() and last >= q.start.date() for q in quarters):
                continue
        chosen.append((e, zn))
    return chosen, ignored


def known_rows(conn: Connection, product: Product, period: str) -> dict[str, dict[str, Any]]:
    """The raw_files row each file name of ``product``/``period`` currently has (validators for the GET, the
    listing values for the quick check)."""
    rf = raw_files.c
    rows = conn.execute(
        select(raw_files)
        # A quarantined file (bad bytes, set by staging) keeps its validators: the same bytes are not fetched
        # and recorded as "current" again; a new version from DWD still arrives through the conditional GET.
        .where(rf.product == product.name, rf.period == period, rf.status.in_(("current", "quarantined")))
        .order_by(rf.id)
    ).mappings()
    return {r["file_name"]: dict(r) for r in rows}  # later ids win
