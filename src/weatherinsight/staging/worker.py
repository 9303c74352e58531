"""The per-file and per-station staging work, pure apart from reading bytes.

Parse one zip with the shared DWD parser, check it against its stored name, and merge one station's files by
release precedence. The embedded (DuckDB) path and the Spark executors (``weatherinsight.staging.spark``)
call exactly these functions, so both engines stage identically.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from weatherinsight.dwd.metadata import DroppedPeriod
from weatherinsight.dwd.products import Product
from weatherinsight.dwd.produkt import LegacyLayoutError
from weatherinsight.dwd.produkt_skip import Window
from weatherinsight.dwd.produkt_zip import read_produkt_zip
from weatherinsight.errors import DwdFormatError, WeatherInsightError
from weatherinsight.quarters import Quarter
from weatherinsight.staging.inventory import RawInput
from weatherinsight.staging.precedence import SourceTable, apply_precedence

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: The end of the "future" span (µs; far beyond year 9999, the last MESS_DATUM year).
_FOREVER = 1 << 62

#: Errors a broken file can raise besides our typed DwdFormatError (reported as the quarantine reason).
PARSE_ERRORS = (zipfile.BadZipFile, pa.ArrowInvalid, ValueError, KeyError, EOFError, OSError)


@dataclass(frozen=True)
class FileOutcome:
    """What staging learned about one file: its hour range (after the MEZ shift) or why it was rejected."""

    rel: str
    sha256: str
    file_name: str
    period: str
    station_id: int | None
    ok: bool
    reason: str | None = None
    first: datetime | None = None
    last: datetime | None = None
    rows: int = 0
    release: datetime | None = None
    #: Rows the parser left out because their period's time reference (MOZ, unknown) cannot be made UTC;
    #: ``rows``, ``first`` and ``last`` describe only the rows kept.
    dropped: tuple[DroppedPeriod, ...] = ()
    #: Rejected as DWD's pre-2017 layout (``LegacyLayoutError``): quarantined, but not counted against the
    #: failure share while the product's current files parse (issue #17).
    legacy: bool = False


@dataclass(frozen=True)
class StationOutcome:
    """The result of staging one station: its merged rows plus per-file outcomes and location history."""

    station_id: int
    table: pa.Table
    files: list[FileOutcome]
    geography: list[pa.Table]


def parse_window(quarters: Iterable[Quarter] | None, now: datetime) -> Window | None:
    """The hours a run for ``quarters`` must parse, or None (parse every row) when it asked for all of them.

    The asked quarters, and every hour after the quarter of ``now``: rows there are counted as "timestamp in
    the future" whatever the run asked for (``StageResult.rows_left_out``), so that count stays whole.
    """
    if quarters is None:
        return None
    spans: list[tuple[int, int]] = []
    future = Quarter.of(now).next()
    for q in sorted({*quarters, future}):
        start, end = _us(q.start), (_us(q.end) if q != future else _FOREVER)
        if spans and spans[-1][1] >= start:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))  # adjacent quarters: one span
        else:
            spans.append((start, end))
    return Window(tuple(spans))


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def failure(item: RawInput, reason: str, *, legacy: bool = False) -> FileOutcome:
    """The outcome of a file rejected for ``reason`` (it will be quarantined)."""
    return FileOutcome(
        item.rel, item.sha256, item.file_name, item.period, item.station_id, False, reason, legacy=legacy
    )


def parse_file(
    product: Product,
    item: RawInput,
    data: bytes,
    *,
    max_uncompressed_bytes: int,
    window: Window | None = None,
) -> tuple[SourceTable, FileOutcome, pa.Table | None]:
    """Parse one zip with the shared parser; raises ``DwdFormatError`` on bad input.

    With ``window`` the table may hold only the rows of those hours (``dwd.produkt_skip``); the outcome's
    range and counts, and the range the file claims in precedence, are still the whole file's.
    """
    pz = read_produkt_zip(
        data,
        file_name=item.file_name,
        product=product,
        max_uncompressed_bytes=max_uncompressed_bytes,
        window=window,
    )
    if pz.period != item.period:
        raise DwdFormatError(
            item.rel, f"a {pz.period} file stored under {item.period}/ (the zip name and folder disagree)"
        )
    if item.station_id is not None and int(pz.station_id) != item.station_id:
        raise DwdFormatError(item.rel, f"holds station {pz.station_id}, its name says {item.station_id}")
    table = pz.table
    ts_type = table.schema.field("ts").type
    first = pa.scalar(pz.first_us, type=ts_type).as_py() if pz.first_us is not None else None
    last = pa.scalar(pz.last_us, type=ts_type).as_py() if pz.last_us is not None else None
    release = pz.produkt_modified
    claim = (first, last) if pz.partial and first is not None and last is not None else None
    src = SourceTable(table, item.period, item.file_name, release, item.sha256, claim)
    outcome = FileOutcome(
        item.rel,
        item.sha256,
        item.file_name,
        item.period,
        int(pz.station_id),
        True,
        None,
        first,
        last,
        pz.rows,
        release,
        tuple(pz.dropped),
    )
    geography = getattr(pz, "geography", None)
    return src, outcome, geography


def probe_file(product: Product, item: RawInput, data: bytes, *, max_uncompressed_bytes: int) -> FileOutcome:
    """Parse one file only to learn its hour range (or why it is bad); the rows are dropped."""
    try:
        _src, outcome, _geo = parse_file(product, item, data, max_uncompressed_bytes=max_uncompressed_bytes)
    except WeatherInsightError as exc:
        return failure(item, str(exc), legacy=isinstance(exc, LegacyLayoutError))
    except PARSE_ERRORS as exc:
        return failure(item, f"{type(exc).__name__}: {exc}")
    return outcome


def stage_station(
    product: Product,
    station_id: int,
    items: Sequence[RawInput],
    read_bytes: Callable[[str], bytes],
    *,
    max_uncompressed_bytes: int,
    window: Window | None = None,
) -> StationOutcome:
    """Parse all files of one station and merge them by precedence (pure apart from ``read_bytes``).

    With ``window`` (``parse_window``) the merged table is exact for the wanted hours only.

    A file that fails to parse is reported (``ok=False`` with the reason) and left out; its station's other
    files still count.
    """
    sources: list[SourceTable] = []
    outcomes: list[FileOutcome] = []
    geography: list[pa.Table] = []
    for item in items:
        try:
            data = read_bytes(item.path)
            if hashlib.sha256(data).hexdigest() != item.sha256:
                raise DwdFormatError(item.rel, "the stored bytes changed while staging ran (sha256 differs)")
            src, outcome, geo = parse_file(
                product, item, data, max_uncompressed_bytes=max_uncompressed_bytes, window=window
            )
        except WeatherInsightError as exc:
            outcomes.append(failure(item, str(exc), legacy=isinstance(exc, LegacyLayoutError)))
            continue
        except PARSE_ERRORS as exc:
            outcomes.append(failure(item, f"{type(exc).__name__}: {exc}"))
            continue
        sources.append(src)
        outcomes.append(outcome)
        if geo is not None and geo.num_rows:
            geography.append(geo.append_column("source_file", pa.array([item.file_name] * geo.num_rows)))
    try:
        merged, _claims = apply_precedence(sources, product)
    except DwdFormatError as exc:
        # Precedence found a duplicate hour inside one file: the whole station is unusable this run.
        return StationOutcome(
            station_id, product.staged_memory_schema.empty_table(), [failure(i, str(exc)) for i in items], []
        )
    return StationOutcome(station_id, merged, outcomes, geography)
