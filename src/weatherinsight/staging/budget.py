"""The process-wide budget of rows that staging runs may hold buffered before writing them (issue #19).

A backfill stages up to ``pools.spark_jobs`` products at once in one process, and each run's
``PartitionSetWriter`` buffers rows per open partition until a row group is full. A fixed cap per run let
three runs buffer three times as much (the 500-station backfill peaked at 1.33 GiB). Here the cap is one
budget for the process: a run alone may buffer all of it, runs staging at the same time share it equally
(each writer asks for its share at every append, so a run that started alone shrinks to its share as soon
as another one starts). Together they hold at most about the budget, plus the piece each is appending.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from weatherinsight.storage.staged import MAX_BUFFERED_ROWS


class RowBudget:
    """A number of buffered rows shared equally by the staging runs that hold a share at the moment."""

    def __init__(self, total: int) -> None:
        if total < 1:
            raise ValueError(f"a row budget must be at least 1 row, got {total}")
        self.total = total
        self._active = 0
        self._lock = threading.Lock()

    @property
    def active(self) -> int:
        """How many runs hold a share now."""
        return self._active

    def cap(self) -> int:
        """One run's share now: the budget divided by the runs holding a share (at least one row)."""
        return max(1, self.total // max(self._active, 1))

    @contextmanager
    def share(self) -> Iterator[Callable[[], int]]:
        """Hold a share for the duration of a run; yields the function that says the share's current size."""
        with self._lock:
            self._active += 1
        try:
            yield self.cap
        finally:
            with self._lock:
                self._active -= 1


#: The budget every staging run of this process draws from.
BUFFERED_ROWS = RowBudget(MAX_BUFFERED_ROWS)
