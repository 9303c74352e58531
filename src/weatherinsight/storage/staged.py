"""Staged Parquet storage: layout, streaming partition writers, atomic partition replace, and readers.

Layout (docs/design.md §4): ``<staged_dir>/<product>/year=YYYY/quarter=Q/part-*.parquet`` in ``Product.staged_schema``
(year and quarter live only in the path, hive style). New partitions are written under
``<staged_dir>/.tmp/<product>/<run id>/`` (same filesystem) and then swapped into place: on Linux with one
``renameat2(RENAME_EXCHANGE)`` call, so a reader sees either the complete old partition or the complete new
one; elsewhere with two renames. Readers never see a half-written file.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from weatherinsight.dwd.products import staged_memory_schema
from weatherinsight.quarters import Quarter

PART_NAME = "part-00000.parquet"
TMP_DIR = ".tmp"
#: Rows per Parquet row group; large enough for fast scans, small enough to bound memory per partition.
ROW_GROUP_ROWS = 256 * 1024
#: Rows buffered over all open partitions before the largest buffer is flushed (≈ 100 bytes/row with the
#: provenance strings, so ≈ 100 MB; a 30-year product has ~120 partitions open at once).
MAX_BUFFERED_ROWS = 1_000_000


def product_dir(staged_dir: Path, product: str) -> Path:
    return Path(staged_dir) / product


def partition_dir(staged_dir: Path, product: str, quarter: Quarter) -> Path:
    return product_dir(staged_dir, product) / f"year={quarter.year}" / f"quarter={quarter.quarter}"


def list_partitions(staged_dir: Path, product: str) -> list[Quarter]:
    """Quarters that have a staged partition directory, in order."""
    out: list[Quarter] = []
    root = product_dir(staged_dir, product)
    if not root.is_dir():
        return out
    for ydir in root.glob("year=*"):
        for qdir in ydir.glob("quarter=*"):
            with contextlib.suppress(ValueError):
                out.append(Quarter(int(ydir.name[5:]), int(qdir.name[8:])))
    return sorted(out)


def read_partition(staged_dir: Path, product: str, quarter: Quarter) -> pa.Table:
    """All rows of one staged partition (sorted as written: station, then time)."""
    d = partition_dir(staged_dir, product, quarter)
    files = sorted(d.glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no staged partition {d}")
    return pa.concat_tables([pq.read_table(f) for f in files])


def staged_dataset(staged_dir: Path, product: str) -> ds.Dataset:
    """The product's staged Parquet as a hive-partitioned dataset (``year``/``quarter`` columns added)."""
    return ds.dataset(
        product_dir(staged_dir, product),
        format="parquet",
        partitioning="hive",
        ignore_prefixes=[".", "_"],
    )


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with Linux ``renameat2(RENAME_EXCHANGE)``; False when unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(rc == 0)


def replace_partition(new_dir: Path, final_dir: Path) -> None:
    """Move a fully written partition directory into place, replacing the old one atomically.

    ``new_dir`` must be on the same filesystem as ``final_dir``. The old content is removed only after the
    new one is visible.
    """
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    if not final_dir.exists():
        os.rename(new_dir, final_dir)
        return
    if _exchange(new_dir, final_dir):
        shutil.rmtree(new_dir)  # new_dir now holds the old partition
        return
    # Fallback (no renameat2): a short window where the partition is absent, never half-written.
    old = final_dir.with_name(f".{final_dir.name}.old-{uuid.uuid4().hex[:8]}")
    os.rename(final_dir, old)
    os.rename(new_dir, final_dir)
    shutil.rmtree(old)


def remove_partition(staged_dir: Path, product: str, quarter: Quarter) -> bool:
    """Remove a partition (a quarter that no longer has rows); True if one existed."""
    d = partition_dir(staged_dir, product, quarter)
    if not d.exists():
        return False
    trash = d.with_name(f".{d.name}.removed-{uuid.uuid4().hex[:8]}")
    os.rename(d, trash)
    shutil.rmtree(trash)
    with contextlib.suppress(OSError):
        d.parent.rmdir()  # drop an empty year= directory
    return True


def run_tmp_dir(staged_dir: Path, product: str, run_id: str) -> Path:
    return Path(staged_dir) / TMP_DIR / product / run_id


def sweep_stale_tmp(staged_dir: Path, product: str) -> list[str]:
    """Remove every ``.tmp/<product>/<run>/`` directory; the names removed.

    Only call it while holding the product's staging lock (``warehouse.locks``): then no other run of the
    product is writing, so every such directory is the leftover of a killed run.
    """
    root = Path(staged_dir) / TMP_DIR / product
    if not root.is_dir():
        return []
    removed: list[str] = []
    for d in sorted(root.iterdir()):
        if d.is_dir():
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d.name)
    return removed


class PartitionSetWriter:
    """Streams tables into per-quarter Parquet files in a temp area, then commits chosen quarters atomically.

    Memory stays bounded: rows are buffered per quarter and flushed as a row group once a quarter's buffer
    reaches ``row_group_rows`` or the buffers together pass ``max_buffered_rows`` (then the largest is flushed;
    a function is asked at every append, for a cap shared with other writers: ``staging.budget``).
    """

    def __init__(
        self,
        staged_dir: Path,
        product: str,
        schema: pa.Schema,
        *,
        run_id: str | None = None,
        row_group_rows: int = ROW_GROUP_ROWS,
        max_buffered_rows: int | Callable[[], int] = MAX_BUFFERED_ROWS,
    ) -> None:
        self.staged_dir = Path(staged_dir)
        self.product = product
        self.schema = schema
        # Tables arrive (and are buffered) with text columns dictionary-encoded; the files are written without
        # the Arrow schema, so they read back as ``schema`` with plain strings.
        self.memory_schema = staged_memory_schema(schema)
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.tmp = run_tmp_dir(self.staged_dir, product, self.run_id)
        self.row_group_rows = row_group_rows
        # A number, or a function asked at every append (a budget shared with concurrent runs).
        self.max_buffered_rows = max_buffered_rows
        #: Row groups written so far (one per flush).
        self.flushes = 0
        self._buffers: dict[Quarter, list[pa.Table]] = {}
        self._buffered: dict[Quarter, int] = {}
        self._writers: dict[Quarter, pq.ParquetWriter] = {}
        self.rows: dict[Quarter, int] = {}
        self._total_buffered = 0

    def tmp_partition(self, quarter: Quarter) -> Path:
        return self.tmp / f"year={quarter.year}" / f"quarter={quarter.quarter}"

    def append(self, quarter: Quarter, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if table.schema != self.memory_schema:
            table = table.cast(self.memory_schema)
        # Copy: a zero-copy slice would keep its whole parent (a station's 30 years) alive until the
        # last quarter holding a slice of it is flushed — that pins many stations at once. Concatenating with
        # an empty table forces a real copy of just the slice's range (combine_chunks returns a lone chunk
        # as it is); it is ~3× cheaper than take(arange(n)), which gathered row by row.
        table = pa.concat_tables([table, table.slice(0, 0)]).combine_chunks()
        self._buffers.setdefault(quarter, []).append(table)
        self._buffered[quarter] = self._buffered.get(quarter, 0) + table.num_rows
        self.rows[quarter] = self.rows.get(quarter, 0) + table.num_rows
        self._total_buffered += table.num_rows
        if self._buffered[quarter] >= self.row_group_rows:
            self._flush(quarter)
        cap = self.max_buffered_rows
        while self._total_buffered > (cap() if callable(cap) else cap):
            self._flush(max(self._buffered, key=lambda q: self._buffered[q]))

    def _flush(self, quarter: Quarter) -> None:
        parts = self._buffers.pop(quarter, [])
        n = self._buffered.pop(quarter, 0)
        self._total_buffered -= n
        if not parts:
            return
        writer = self._writers.get(quarter)
        if writer is None:
            d = self.tmp_partition(quarter)
            d.mkdir(parents=True, exist_ok=True)
            writer = pq.ParquetWriter(d / PART_NAME, self.memory_schema, store_schema=False)
            self._writers[quarter] = writer
        writer.write_table(pa.concat_tables(parts), row_group_size=max(n, 1))
        self.flushes += 1

    def close(self) -> None:
        """Flush every buffer and close every file (the temp partitions are then complete)."""
        for q in list(self._buffers):
            self._flush(q)
        for w in self._writers.values():
            w.close()
        self._writers.clear()

    def commit(self, quarters: Iterable[Quarter]) -> dict[Quarter, int]:
        """Swap the given quarters into place; a quarter without rows has its old partition removed.

        Returns rows per committed quarter. Call after ``close()``.
        """
        out: dict[Quarter, int] = {}
        for q in sorted(set(quarters)):
            rows = self.rows.get(q, 0)
            if rows:
                replace_partition(self.tmp_partition(q), partition_dir(self.staged_dir, self.product, q))
            else:
                remove_partition(self.staged_dir, self.product, q)
            out[q] = rows
        return out

    def cleanup(self) -> None:
        """Remove the run's temp area (uncommitted partitions included)."""
        for w in self._writers.values():
            with contextlib.suppress(Exception):
                w.close()
        self._writers.clear()
        shutil.rmtree(self.tmp, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.tmp.parent.rmdir()
            self.tmp.parent.parent.rmdir()


def rows_in_directory(root: Path) -> dict[Quarter, int]:
    """Rows per ``year=/quarter=`` partition under ``root`` (from the Parquet footers, no data read)."""
    out: dict[Quarter, int] = {}
    for f in Path(root).glob("year=*/quarter=*/*.parquet"):
        q = Quarter(int(f.parent.parent.name[5:]), int(f.parent.name[8:]))
        out[q] = out.get(q, 0) + pq.ParquetFile(f).metadata.num_rows
    return out


def commit_directory_partitions(
    staged_dir: Path, product: str, written_root: Path, quarters: Iterable[Quarter]
) -> dict[Quarter, int]:
    """Commit partitions written by another writer (Spark) under ``written_root/year=/quarter=``.

    Returns rows per quarter (read from the Parquet footers); quarters without output are removed.
    """
    out: dict[Quarter, int] = {}
    for q in sorted(set(quarters)):
        src = Path(written_root) / f"year={q.year}" / f"quarter={q.quarter}"
        files = sorted(src.glob("*.parquet")) if src.is_dir() else []
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        if rows:
            for junk in src.iterdir():  # Spark's .crc / _SUCCESS side files are not part of the contract
                if not junk.name.endswith(".parquet"):
                    junk.unlink()
            replace_partition(src, partition_dir(staged_dir, product, q))
        else:
            remove_partition(staged_dir, product, q)
        out[q] = rows
    return out
