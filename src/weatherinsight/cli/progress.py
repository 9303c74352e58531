"""Progress bars for the CLI: turns the services' ``ProgressEvent`` reports into Rich bars on stderr.

Services never draw; they call the ``ProgressCallback`` they are given. This module is the one place that
knows how a report looks on a terminal. Callbacks may be called from worker threads (Rich's ``Progress`` is
thread-safe for ``add_task``/``advance``; the task table is guarded by a lock).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from weatherinsight.vocabulary import ProgressCallback, ProgressEvent, no_progress


@contextmanager
def progress_bars(
    enabled: bool = True, *, console: Console | None = None, prefix: str = ""
) -> Iterator[ProgressCallback]:
    """A callback drawing one bar per reported task while the ``with`` block runs (none when disabled)."""
    if not enabled:
        yield no_progress
        return
    bars = Progress(
        TextColumn(f"{prefix}{{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        transient=False,
    )
    tasks: dict[str, TaskID] = {}
    lock = threading.Lock()

    def report(event: ProgressEvent) -> None:
        with lock:
            task = tasks.get(event.task)
            if task is None:
                task = tasks[event.task] = bars.add_task(event.task, total=event.total)
            elif event.total is not None:
                bars.update(task, total=event.total)
        if event.advance:
            bars.advance(task, event.advance)

    with bars:
        yield report
