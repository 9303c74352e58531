"""The process-wide buffered-row budget (``staging.budget``) and how a writer flushes under its share."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from weatherinsight.quarters import Quarter
from weatherinsight.staging.budget import BUFFERED_ROWS, RowBudget
from weatherinsight.storage.staged import MAX_BUFFERED_ROWS, PART_NAME, PartitionSetWriter

SCHEMA = pa.schema([("ts", pa.int64())])
Q1, Q2, Q3 = Quarter(2020, 1), Quarter(2020, 2), Quarter(2020, 3)


def test_the_budget_is_split_equally_among_the_runs_holding_a_share() -> None:
    budget = RowBudget(90)
    assert (budget.active, budget.cap()) == (0, 90)
    with budget.share() as cap:
        assert (budget.active, cap()) == (1, 90)
        with budget.share():
            assert (budget.active, cap()) == (2, 45)
            with budget.share():
                assert (budget.active, cap()) == (3, 30)
            assert cap() == 45
    assert (budget.active, budget.cap()) == (0, 90)
    assert RowBudget(2).cap() == 2
    with RowBudget(2).share() as cap:
        assert cap() == 2


def test_a_share_is_returned_when_the_run_fails() -> None:
    budget = RowBudget(10)
    with pytest.raises(RuntimeError), budget.share():
        raise RuntimeError("staging failed")
    assert budget.active == 0


def test_shares_taken_from_threads() -> None:
    budget = RowBudget(100)
    inside, read = threading.Barrier(3), threading.Barrier(3)
    seen: list[int] = []

    def run() -> None:
        with budget.share() as cap:
            inside.wait()  # all three hold a share
            seen.append(cap())
            read.wait()  # nobody gives theirs back before all have read

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [33, 33, 33]
    assert budget.active == 0


def test_the_process_budget_is_the_old_per_run_cap() -> None:
    assert BUFFERED_ROWS.total == MAX_BUFFERED_ROWS == 1_000_000


def _rows(n: int) -> pa.Table:
    return pa.table({"ts": pa.array(range(n), pa.int64())})


def _feed(writer: PartitionSetWriter) -> list[int]:
    """20 rows to Q1, Q2, Q3, then Q1 again; the flush count after each append."""
    counts = []
    for q in (Q1, Q2, Q3, Q1):
        writer.append(q, _rows(20))
        counts.append(writer.flushes)
    return counts


def _row_groups(writer: PartitionSetWriter) -> dict[str, int]:
    return {str(q): pq.ParquetFile(writer.tmp_partition(q) / PART_NAME).num_row_groups for q in (Q1, Q2, Q3)}


def test_a_writer_alone_flushes_only_at_close(tmp_path: Path) -> None:
    budget = RowBudget(100)
    with budget.share():
        w = PartitionSetWriter(tmp_path, "p", SCHEMA, row_group_rows=1000, max_buffered_rows=budget.cap)
        assert _feed(w) == [0, 0, 0, 0]
        w.close()
    assert w.flushes == 3
    assert _row_groups(w) == {"2020Q1": 1, "2020Q2": 1, "2020Q3": 1}
    assert w.rows == {Q1: 40, Q2: 20, Q3: 20}


def test_a_writer_sharing_the_budget_flushes_the_largest_buffer_over_its_share(tmp_path: Path) -> None:
    budget = RowBudget(100)
    with budget.share(), budget.share():  # another run stages at the same time: each may buffer 50 rows
        w = PartitionSetWriter(tmp_path, "p", SCHEMA, row_group_rows=1000, max_buffered_rows=budget.cap)
        # 60 > 50 after Q3: Q1 (first of the largest) is written; 60 again after Q1's second piece: Q2.
        assert _feed(w) == [0, 0, 1, 2]
        w.close()
    assert w.flushes == 4
    assert _row_groups(w) == {"2020Q1": 2, "2020Q2": 1, "2020Q3": 1}
    assert w.rows == {Q1: 40, Q2: 20, Q3: 20}
    assert pq.read_table(w.tmp_partition(Q1) / PART_NAME).num_rows == 40


def test_a_share_shrinks_when_another_run_starts(tmp_path: Path) -> None:
    budget = RowBudget(100)
    with budget.share():
        w = PartitionSetWriter(tmp_path, "p", SCHEMA, row_group_rows=1000, max_buffered_rows=budget.cap)
        w.append(Q1, _rows(30))
        w.append(Q2, _rows(30))
        assert w.flushes == 0
        with budget.share():  # a second run starts: this writer's next append brings it down to 50
            w.append(Q3, _rows(1))
            assert w.flushes == 1
        w.close()
