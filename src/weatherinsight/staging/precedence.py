"""Historical/recent precedence for one station's parsed DWD files (docs/design.md §5), on Arrow.

The rule: inside a historical file's range (its first to last UTC hour) only that file's rows are used — an
hour it lacks stays missing and is never refilled from un-finalised recent data; every other hour comes from
the newest recent release (ordered by the modification time of the produkt entry in the zip).

We implement it as "range claims": files are ranked (historical before recent, newer release before older);
each file claims the hours from its first to its last row, and a file keeps only the rows that no higher-ranked
file has claimed. Applying the same rule to recent releases means an hour inside the newest release's range
comes only from that release, and older releases only fill hours before it starts. Each output hour therefore
comes from exactly one file, so no hour is ever duplicated across files (the parser already removes duplicates
inside one file, docs/design.md §5 time reference).

This module is pure (Arrow in, Arrow out) so the DuckDB path and the Spark executors run the very same code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from weatherinsight.dwd.products import Product
from weatherinsight.errors import DwdFormatError

HISTORICAL = "historical"
RECENT = "recent"


@dataclass(frozen=True)
class SourceTable:
    """One parsed produkt file of one station, with what precedence needs to rank it."""

    table: pa.Table
    period: str
    source_file: str
    release: datetime | None
    #: A stable tie-breaker when two files share period and release time (e.g. the sha256 of the bytes).
    key: str = ""
    #: The file's first and last UTC hour when ``table`` holds only part of it (a parse window): the file
    #: claims its whole range, so that a gap inside it is not filled from another file. None: the table's.
    claim: tuple[datetime, datetime] | None = None


@dataclass(frozen=True)
class Claim:
    """The hour range a file claims after ranking; rows of lower-ranked files inside it are dropped."""

    source_file: str
    period: str
    first: datetime
    last: datetime
    rows_kept: int
    rows_dropped: int


def rank(sources: Sequence[SourceTable]) -> list[SourceTable]:
    """Order files by precedence: historical first, then recent; newer release first; then key."""

    def sort_key(s: SourceTable) -> tuple[int, float, str]:
        released = s.release.timestamp() if s.release is not None else float("-inf")
        return (0 if s.period == HISTORICAL else 1, -released, s.key or s.source_file)

    unknown = [s.source_file for s in sources if s.period not in (HISTORICAL, RECENT)]
    if unknown:
        raise ValueError(f"unknown period for {unknown}; expected {HISTORICAL!r} or {RECENT!r}")
    return sorted(sources, key=sort_key)


def apply_precedence(sources: Sequence[SourceTable], product: Product) -> tuple[pa.Table, list[Claim]]:
    """Merge one station's files into one row per UTC hour, in the staged schema (its in-memory form: text
    columns dictionary-encoded, ``Product.staged_memory_schema``), sorted by time.

    Returns the merged table and, per file in rank order, the range it claimed and how many rows it kept.
    Raises ``DwdFormatError`` if a single file repeats an hour (the parser must have removed those).
    """
    schema = product.staged_memory_schema
    parts: list[pa.Table] = []
    claims: list[Claim] = []
    claimed: list[tuple[pa.Scalar, pa.Scalar]] = []
    for src in rank(sources):
        t = src.table
        ts = t.column("ts")
        if src.claim is not None:
            lo, hi = (pa.scalar(x, type=ts.type) for x in src.claim)
        elif t.num_rows == 0:
            continue
        else:
            bounds = pc.min_max(ts)
            lo, hi = bounds["min"], bounds["max"]
        dropped = 0
        if claimed and t.num_rows:
            taken: pa.ChunkedArray | None = None
            for c_lo, c_hi in claimed:
                inside = pc.and_(pc.greater_equal(ts, c_lo), pc.less_equal(ts, c_hi))
                taken = inside if taken is None else pc.or_(taken, inside)
            assert taken is not None
            before = t.num_rows
            t = t.filter(pc.invert(taken))
            dropped = before - t.num_rows
        claimed.append((lo, hi))
        claims.append(Claim(src.source_file, src.period, lo.as_py(), hi.as_py(), t.num_rows, dropped))
        if t.num_rows:
            parts.append(_to_staged(t, src, schema))
    if not parts:
        return schema.empty_table(), claims
    merged = pa.concat_tables(parts)
    # The usual station (historical rows, then the recent rows after them) is already in order: only sort,
    # and look for a repeated hour, when the concatenation is not strictly increasing.
    ts = merged.column("ts").to_numpy().astype("int64")
    if len(ts) > 1 and not bool((ts[1:] > ts[:-1]).all()):
        merged = merged.sort_by([("ts", "ascending")])
        _check_unique_hours(merged, [s.source_file for s in sources])
    return merged, claims


def _to_staged(t: pa.Table, src: SourceTable, schema: pa.Schema) -> pa.Table:
    """Select/cast the parser's columns into the staged schema and add the provenance columns."""
    n = t.num_rows
    columns: list[pa.Array | pa.ChunkedArray] = []
    for f in schema:
        if f.name in ("source_period", "source_file"):
            text = src.period if f.name == "source_period" else src.source_file
            columns.append(
                pa.DictionaryArray.from_arrays(np.zeros(n, np.int32), pa.array([text], pa.string()))
            )
        elif f.name in t.column_names:
            col = t.column(f.name)
            columns.append(col if col.type == f.type else col.cast(f.type))
        else:
            # A value column the file does not have (e.g. an older layout): missing, not invented.
            columns.append(pa.nulls(n, f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _check_unique_hours(merged: pa.Table, files: list[str]) -> None:
    ts = merged.column("ts").to_numpy()
    if len(ts) > 1:
        dup = np.flatnonzero(np.diff(ts.astype("int64")) <= 0)
        if len(dup):
            at = merged.column("ts")[int(dup[0]) + 1].as_py()
            raise DwdFormatError(
                ", ".join(files),
                f"hour {at:%Y-%m-%d %H:00} UTC appears twice within one file after the time-reference shift",
            )


def quarter_keys(ts: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """``year * 4 + quarter - 1`` for each UTC timestamp (vectorised; no Python loop per row)."""
    arr = ts.to_numpy() if isinstance(ts, pa.ChunkedArray) else ts.to_numpy(zero_copy_only=False)
    months = arr.astype("datetime64[M]").astype("int64")  # months since 1970-01
    years = months // 12 + 1970
    return np.asarray(years * 4 + (months % 12) // 3, dtype="int64")


def split_by_quarter(table: pa.Table) -> list[tuple[int, int, pa.Table]]:
    """Split a table sorted by ``ts`` into contiguous (year, quarter, slice) pieces, zero-copy.

    The cuts are found by binary search for each quarter start between the first and the last hour (about
    40 searches for a 10-year station) instead of a calendar computation on every row.
    """
    n = table.num_rows
    if n == 0:
        return []
    ts = table.column("ts").to_numpy()
    first, last = (int(k) for k in quarter_keys(pa.array(ts[[0, -1]])))
    out = []
    start = 0
    for k in range(first, last + 1):
        nxt = k + 1
        boundary = np.datetime64(f"{nxt // 4:04d}-{(nxt % 4) * 3 + 1:02d}-01", "us")
        end = n if k == last else int(np.searchsorted(ts, boundary, side="left"))
        if end > start:
            out.append((k // 4, k % 4 + 1, table.slice(start, end - start)))
        start = end
    return out
