"""The staged Parquet store: layout, bounded buffering, atomic partition replace and removal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from weatherinsight.dwd.products import get_product
from weatherinsight.quarters import Quarter
from weatherinsight.storage.staged import (
    PartitionSetWriter,
    list_partitions,
    partition_dir,
    read_partition,
    remove_partition,
    replace_partition,
)

WIND = get_product("wind")
Q1, Q2 = Quarter(2024, 1), Quarter(2024, 2)


def rows(station: int, start: datetime, n: int, speed: float) -> pa.Table:
    return pa.table(
        {
            "station_id": pa.array([station] * n, pa.int32()),
            "ts": pa.array([start + timedelta(hours=i) for i in range(n)], pa.timestamp("us", tz="UTC")),
            "qn": pa.array([3] * n, pa.int8()),
            "wind_speed": pa.array([speed] * n, pa.float64()),
            "wind_direction": pa.array([None] * n, pa.int16()),
            "source_period": pa.array(["recent"] * n),
            "source_file": pa.array(["f.zip"] * n),
        },
        schema=WIND.staged_schema,
    )


def test_writer_bounds_buffers_and_commits_atomically(tmp_path: Path) -> None:
    staged = tmp_path / "staged"
    writer = PartitionSetWriter(
        staged, "wind", WIND.staged_schema, row_group_rows=1000, max_buffered_rows=250
    )
    for station in range(1, 6):
        writer.append(Q1, rows(station, datetime(2024, 1, 1, tzinfo=UTC), 100, 1.0))
        writer.append(Q2, rows(station, datetime(2024, 4, 1, tzinfo=UTC), 50, 2.0))
    # The buffers never held more than 250 rows, so row groups were flushed on the way.
    writer.close()
    assert writer.rows == {Q1: 500, Q2: 250}
    assert pq.ParquetFile(writer.tmp_partition(Q1) / "part-00000.parquet").num_row_groups > 1
    assert writer.commit([Q1, Q2]) == {Q1: 500, Q2: 250}
    writer.cleanup()
    t = read_partition(staged, "wind", Q1)
    assert t.schema == WIND.staged_schema and t.num_rows == 500
    assert t.column("station_id").to_pylist() == [s for s in range(1, 6) for _ in range(100)]
    assert list_partitions(staged, "wind") == [Q1, Q2]
    assert not (staged / ".tmp" / "wind").exists()


def test_replace_swaps_a_whole_partition_and_remove_drops_it(tmp_path: Path) -> None:
    staged = tmp_path / "staged"
    final = partition_dir(staged, "wind", Q1)
    final.mkdir(parents=True)
    pq.write_table(rows(1, datetime(2024, 1, 1, tzinfo=UTC), 3, 1.0), final / "part-00000.parquet")
    (final / "part-00001.parquet").write_bytes(b"old extra file")
    new = tmp_path / "new"
    new.mkdir()
    pq.write_table(rows(2, datetime(2024, 1, 1, tzinfo=UTC), 7, 5.0), new / "part-00000.parquet")
    replace_partition(new, final)
    assert sorted(p.name for p in final.iterdir()) == ["part-00000.parquet"]  # the old set is gone as a whole
    assert read_partition(staged, "wind", Q1).column("station_id").to_pylist() == [2] * 7
    assert not new.exists()
    assert remove_partition(staged, "wind", Q1) is True
    assert list_partitions(staged, "wind") == [] and not final.exists()
    assert remove_partition(staged, "wind", Q1) is False


def test_buffered_slices_do_not_pin_their_parent_table(tmp_path: Path) -> None:
    """A buffered quarter slice is a copy of just its rows: the station's whole table can be freed."""
    parent = rows(44, datetime(2024, 3, 31, 20, tzinfo=UTC), 10, 4.5)
    writer = PartitionSetWriter(tmp_path / "staged", "wind", WIND.staged_schema, row_group_rows=1000)
    pool_before = pa.total_allocated_bytes()
    writer.append(Q1, parent.slice(0, 4))
    writer.append(Q2, parent.slice(4, 6))
    (q1,) = writer._buffers[Q1]
    (q2,) = writer._buffers[Q2]
    # Buffered in the in-memory form: the text columns dictionary-encoded, the same values.
    assert q1.schema == WIND.staged_memory_schema
    assert q1.cast(WIND.staged_schema).equals(parent.slice(0, 4))
    assert q2.cast(WIND.staged_schema).equals(parent.slice(4, 6))
    for copy in (q1, q2):
        for name in ("ts", "wind_speed"):
            kept = copy.column(name).chunk(0)
            original = parent.column(name).chunk(0)
            assert kept.offset == 0
            assert kept.buffers()[1].address != original.buffers()[1].address, name
    assert pa.total_allocated_bytes() > pool_before
    writer.close()
    assert writer.commit([Q1, Q2]) == {Q1: 4, Q2: 6}
    assert (
        read_partition(tmp_path / "staged", "wind", Q2).column("ts").to_pylist()
        == parent.column("ts").to_pylist()[4:]
    )
