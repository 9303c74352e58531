"""The produkt parser: one ``produkt_*.txt`` file → an Arrow table in UTC, one row per hour (FORMAT §2, §4).

It streams the file through ``pyarrow.csv`` in blocks and converts each block with numpy (``dwd.blocks``, no
Python loop per row); only when a block is rejected does the slow line-by-line scan (``dwd.linescan``) run,
to name the exact line and problem in the :class:`~weatherinsight.errors.DwdFormatError`. The metadata files
are parsed in ``dwd.metadata``, a whole station zip is read by ``dwd.produkt_zip``.

Time reference (DESIGN §5): the primary variable's Metadaten_Parameter periods decide the whole row; rows
in a MEZ period are shifted by exactly −1 h (MEZ is UTC+1 without daylight saving, FORMAT §2.8/§4.10);
where a shifted row collides with a row of a UTC period of the same file the UTC row is kept.
Rows outside every listed period of the primary variable, and files without Metadaten_Parameter, count as
UTC (what DWD uses for all current data). A period whose Zusatz-Info names MOZ (local mean time, which
PDF-TU says West German stations used for early data, FORMAT §2.2/§2.8), or names none of UTC/MEZ/MOZ,
cannot be converted to UTC with a whole-hour shift: its rows are left out of the table and counted per
period (``ProduktZip.dropped``); the file's other rows are kept, so decades of good data are not lost.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from weatherinsight.dwd.blocks import US_PER_DAY, US_PER_HOUR, Block, Reject, convert
from weatherinsight.dwd.linescan import Opener, arrow_problem, fail
from weatherinsight.dwd.metadata import DroppedPeriod, TimePeriod
from weatherinsight.dwd.products import (
    EOR,
    LEGACY_MARKERS,
    STAGED_TAIL_FIELDS,
    UTC_SHIFT_HOURS,
    Product,
)
from weatherinsight.dwd.produkt_skip import Window, skim
from weatherinsight.dwd.text import PAD
from weatherinsight.errors import DwdFormatError

#: CSV block size. Measured (benchmarks/README.md): 1 MiB is as fast as 8 MiB and keeps the peak RSS lowest,
#: since pyarrow reads several blocks ahead.
_BLOCK_SIZE = 1 << 20
_MAX_HEADER = 4096


class LegacyLayoutError(DwdFormatError):
    """A produkt file in DWD's pre-2017 layout (``produkt_*_Terminwerte``, FORMAT §4.8). Staging quarantines
    it apart: it says nothing about the health of the product's current files, so it does not count against
    the run's failure share while current files parse."""


def produkt_schema(product: Product) -> pa.Schema:
    """The parser's output: ``product.staged_schema`` without the source_period/source_file tail."""
    tail = {f.name for f in STAGED_TAIL_FIELDS}
    return pa.schema([f for f in product.staged_schema if f.name not in tail])


def _check_header(line: bytes, product: Product, file_name: str) -> None:
    # No DWD file has a byte-order mark (FORMAT §4.1), but an editor that re-saved one may add it.
    text = line.removeprefix(b"\xef\xbb\xbf").decode("latin-1").rstrip("\r\n")
    if not text.strip():
        raise DwdFormatError(file_name, "empty file: no header line", line=1)
    tokens = [t.strip(PAD) for t in text.split(";")]
    if any(marker in tokens for marker in LEGACY_MARKERS):
        raise LegacyLayoutError(
            file_name,
            "this is the pre-2017 legacy produkt layout (German long column names such as "
            f"{'/'.join(LEGACY_MARKERS)}); it is not supported",
            line=1,
            hint="use a current DWD file (2017 or later layout)",
        )
    if tuple(tokens) != product.header:
        raise DwdFormatError(
            file_name,
            f"header {';'.join(tokens)!r} is not the {product.name} ({product.code}) produkt header "
            f"{';'.join(product.header)!r}",
            line=1,
        )


def _primary_periods(periods: list[TimePeriod], parameter: str) -> list[TimePeriod]:
    """``parameter``'s periods sorted by start, or [] when every one of them is UTC (nothing to do)."""
    own = sorted((p for p in periods if p.parameter == parameter), key=lambda p: (p.start, p.end))
    return own if any(p.reference != "UTC" for p in own) else []


def _period_index(ts_local: np.ndarray, own: list[TimePeriod]) -> np.ndarray:
    """Per row, the index in ``own`` of the period its local timestamp lies in, or -1 (outside every one)."""
    epoch = date(1970, 1, 1)
    starts = np.array([(p.start - epoch).days for p in own], dtype=np.int64)
    ends = np.array([(p.end - epoch).days for p in own], dtype=np.int64)
    day = ts_local // US_PER_DAY
    # Overlapping periods (DWD repeats a boundary day): the period that starts last wins.
    idx = np.searchsorted(starts, day, side="right") - 1
    inside = idx >= 0
    idx_safe = np.where(inside, idx, 0)
    inside &= day <= ends[idx_safe]
    return np.where(inside, idx, -1)


def parse_stream(
    open_stream: Opener,
    product: Product,
    *,
    file_name: str,
    periods: Iterable[TimePeriod] | None,
    window: Window | None = None,
) -> Parsed:
    """Parse a produkt member (``open_stream`` opens it afresh) into a :class:`Parsed`.

    With ``window``, only the lines of the wanted hours are parsed (``dwd.produkt_skip``); the table then holds
    those rows (and a margin), while ``rows``, ``first``, ``last`` and ``dropped`` still describe the whole
    file. A file that does not fit the skim's checks, or whose wanted stretch fails to parse, is parsed whole
    (so its problems are reported exactly as without a window).
    """
    own_periods = list(periods or ())
    if window is not None:
        parsed = _parse_window(open_stream, product, file_name, own_periods, window)
        if parsed is not None:
            return parsed
    blocks: list[Block] = []
    with open_stream() as stream:
        _check_header(stream.readline(_MAX_HEADER), product, file_name)
        try:
            blocks = _read_blocks(stream, product)
        except Reject as rej:
            raise fail(open_stream, product, file_name, rej.problem, rej.row) from None
        except pa.ArrowInvalid as exc:
            if "Empty CSV" in str(exc):
                raise DwdFormatError(file_name, "empty file: no data rows after the header", line=2) from None
            raise fail(open_stream, product, file_name, arrow_problem(exc), None) from None
    if not blocks:
        raise DwdFormatError(file_name, "empty file: no data rows after the header", line=2)
    return _assemble(blocks, product, open_stream, file_name, own_periods)


def _read_blocks(stream: IO[bytes], product: Product) -> list[Block]:
    """The CSV rows of ``stream`` (after the header) as converted blocks; ``Reject.row`` counts from the
    first data row of the stream."""
    value_names = [v.column for v in product.variables]
    names = ["station_id", "mess_datum", "qn", *value_names, EOR]
    types: dict[str, pa.DataType] = {n: pa.float64() for n in names}
    # Letter columns (cloudiness V_N_I = P/I, FORMAT §2.7 note 11) are read as text, everything else as numbers.
    types.update({v.column: pa.string() for v in product.variables if pa.types.is_string(v.arrow_type)})
    types[EOR] = pa.string()
    blocks: list[Block] = []
    station: int | None = None
    rows_before = 0
    reader = pacsv.open_csv(
        stream,
        read_options=pacsv.ReadOptions(column_names=names, block_size=_BLOCK_SIZE),
        parse_options=pacsv.ParseOptions(delimiter=";", quote_char=False),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            include_columns=names,
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    for batch in reader:
        if batch.num_rows == 0:
            continue
        try:
            block = convert(batch, product, station)
        except Reject as rej:
            raise Reject(rej.problem, rows_before + (rej.row or 0)) from None
        station = block.station
        rows_before += batch.num_rows
        blocks.append(block)
    return blocks


def _parse_window(
    open_stream: Opener, product: Product, file_name: str, periods: list[TimePeriod], window: Window
) -> Parsed | None:
    """The wanted rows of a sorted file plus the whole file's counts; None: parse the whole file instead."""
    with open_stream() as stream:
        _check_header(stream.readline(_MAX_HEADER), product, file_name)
        skimmed = skim(stream, window)
    if skimmed is None:
        return None
    blocks: list[Block] = []
    if skimmed.kept:
        try:
            blocks = _read_blocks(io.BytesIO(skimmed.kept), product)
        except (Reject, pa.ArrowInvalid):
            return None  # the whole parse finds the problem again and names its line
        if sum(len(b.ts) for b in blocks) != skimmed.kept_rows or any(
            b.station != skimmed.station for b in blocks
        ):
            return None
    if blocks:
        part = _assemble(blocks, product, open_stream, file_name, periods)
        table = part.table
    else:
        table = produkt_schema(product).empty_table()
    # The whole file's counts, from every row's stamp (the same rules as for the parsed rows).
    own = _primary_periods(periods, product.primary_variable.dwd_name)
    shift = np.array([UTC_SHIFT_HOURS.get(p.reference, -1) for p in own], dtype=np.int64)
    idx = _period_index(skimmed.ts, own) if own else None
    _rows, ts, dropped = _utc_rows(skimmed.ts, idx, own, shift)
    first, last = (int(ts[0]), int(ts[-1])) if len(ts) else (None, None)
    return Parsed(table, skimmed.station, dropped, len(ts), first, last, partial=True)


@dataclass
class Parsed:
    """One parsed produkt file: the UTC table, its station and the rows left out per unconvertible period.

    ``rows``, ``first`` and ``last`` (UTC µs, None without rows) and ``dropped`` describe the whole file; the
    table holds every row, or with ``partial`` only those a window wanted (``parse_stream``).
    """

    table: pa.Table
    station: int
    dropped: list[DroppedPeriod]
    rows: int
    first: int | None
    last: int | None
    partial: bool = False


def _utc_rows(
    ts: np.ndarray, idx: np.ndarray | None, own: list[TimePeriod], shift: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[DroppedPeriod]]:
    """The time-reference rule on stamps in file order (module doc): the positions of the rows that stay, in
    UTC order, their UTC stamps, and the rows left out per unconvertible period. ``idx`` is each row's
    period in ``own`` (``_period_index``), None when no row lies in one."""
    # Row positions that stay, and each one's shift in hours (0 outside every non-UTC period).
    rows = np.arange(len(ts))
    hours = np.zeros(len(ts), dtype=np.int64)
    dropped: list[DroppedPeriod] = []
    if idx is not None:
        hours = np.where(idx >= 0, shift[np.maximum(idx, 0)], 0)
        unconvertible = hours < 0
        if unconvertible.any():
            counts = np.bincount(idx[unconvertible], minlength=len(own))
            dropped = [
                DroppedPeriod(p.parameter, p.start, p.end, p.reference, p.info, int(n))
                for p, n in zip(own, counts, strict=True)
                if n
            ]
            rows = np.flatnonzero(~unconvertible)
            ts, hours = ts[rows], hours[rows]
    mez = hours > 0
    ts = ts - hours * US_PER_HOUR
    order = np.argsort(ts, kind="stable")
    ts = ts[order]
    dup = ts[1:] == ts[:-1]
    if dup.any():
        # Only a shifted MEZ row can meet another row (raw duplicates are rejected before): the UTC row stays.
        mez_sorted = mez[order]
        drop = np.zeros(len(ts), dtype=bool)
        drop[1:] |= dup & mez_sorted[1:]
        drop[:-1] |= dup & mez_sorted[:-1]
        keep = ~drop
        order, ts = order[keep], ts[keep]
    return rows[order], ts, dropped


def _assemble(
    blocks: list[Block], product: Product, open_stream: Opener, file_name: str, periods: list[TimePeriod]
) -> Parsed:
    """Blocks → one table. Fast path (no MEZ or unconvertible row, already increasing): the blocks' arrays as
    chunks, no copy. Otherwise rows of unconvertible periods are left out (and counted per period), and the
    rest is shifted, sorted and de-duplicated by the collision rule."""
    schema = produkt_schema(product)
    station = blocks[0].station
    own = _primary_periods(periods, product.primary_variable.dwd_name)
    shift = np.array([UTC_SHIFT_HOURS.get(p.reference, -1) for p in own], dtype=np.int64)
    # Per block: the row's period index (None: no row lies in a non-UTC period of the primary variable).
    idx_parts: list[np.ndarray | None] = []
    for b in blocks:
        idx = _period_index(b.ts, own) if own else None
        idx_parts.append(idx if idx is not None and bool((shift[idx[idx >= 0]] != 0).any()) else None)
    increasing = all(b.increasing or bool(np.all(b.ts[1:] > b.ts[:-1])) for b in blocks) and all(
        a.ts[-1] < b.ts[0] for a, b in itertools.pairwise(blocks)
    )
    chunks: list[list[pa.Array]] = [[] for _ in schema]
    # The station is one value for the whole file: every chunk is a zero-copy slice of one shared array,
    # so the column costs one block's worth of memory instead of 4 bytes per row.
    stations = pa.array(np.full(max(len(b.ts) for b in blocks), station, dtype=np.int32), type=pa.int32())
    for block in blocks:
        n = len(block.ts)
        chunks[0].append(stations.slice(0, n))
        chunks[1].append(pa.array(block.ts, type=pa.int64()).view(schema.field("ts").type))
        for i, col in enumerate(block.columns):
            chunks[2 + i].append(col)
    table = pa.Table.from_arrays(
        [pa.chunked_array(c, type=f.type) for c, f in zip(chunks, schema, strict=True)], schema=schema
    )
    if increasing and all(m is None for m in idx_parts):
        n = table.num_rows
        return Parsed(table, station, [], n, int(blocks[0].ts[0]), int(blocks[-1].ts[-1]))

    ts = np.concatenate([b.ts for b in blocks])
    if not increasing and len(np.unique(ts)) != len(ts):
        raise fail(open_stream, product, file_name, "duplicate MESS_DATUM", None)
    idx_all = None
    if any(m is not None for m in idx_parts):
        idx_all = np.concatenate(
            [m if m is not None else np.full(len(b.ts), -1) for m, b in zip(idx_parts, blocks, strict=True)]
        )
    rows, ts, dropped = _utc_rows(ts, idx_all, own, shift)
    table = table.take(pa.array(rows, type=pa.int64()))
    table = table.set_column(
        1, schema.field("ts"), pa.array(ts, type=pa.int64()).view(schema.field("ts").type)
    )
    first, last = (int(ts[0]), int(ts[-1])) if len(ts) else (None, None)
    return Parsed(table, station, dropped, len(ts), first, last)


def parse_produkt(
    data: bytes, product: Product, *, file_name: str, periods: list[TimePeriod] | None = None
) -> pa.Table:
    """A ``produkt_*.txt`` file → Arrow (``produkt_schema(product)``), sorted by UTC ``ts``, one row per hour.

    ``periods`` come from the same zip's Metadaten_Parameter; without them every row is taken as UTC. Rows in
    a MOZ or unknown period are not in the table; ``read_produkt_zip`` reports how many (``dropped``).
    """
    return parse_stream(lambda: io.BytesIO(data), product, file_name=file_name, periods=periods).table
