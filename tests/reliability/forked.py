"""Running a pipeline step in a forked child: to completion (its result comes back) or killed with SIGKILL.

Forking the test process is how the crash probe stays lean: no interpreter start-up and no imports per trial,
and the child is a real process that ``kill -9`` ends without any clean-up (no ``finally``, no atexit).
Every step runs in a child — the test process itself never opens a DuckDB/Arrow thread pool before a fork.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from weatherinsight.warehouse import db

_FORK = multiprocessing.get_context("fork")


def _child(conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    db.dispose_engines()  # never share the parent's pooled connections
    try:
        conn.send(("ok", fn(*args)))
    except BaseException as exc:  # sent back to the test, which raises it
        conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))


def run_in_child(fn: Callable[..., Any], *args: Any, timeout: float = 300) -> Any:
    """``fn(*args)`` in a forked child; its return value (raises AssertionError with the child's error)."""
    db.dispose_engines()
    parent, child = _FORK.Pipe(duplex=False)
    proc = _FORK.Process(target=_child, args=(child, fn, args))
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise AssertionError(f"{fn.__name__} did not finish in {timeout} s")
        kind, value = parent.recv()
    finally:
        proc.join(timeout=30)
    if kind == "error":
        raise AssertionError(f"{fn.__name__} failed in the child: {value}")
    return value


def timed_in_child(fn: Callable[..., Any], *args: Any) -> float:
    """Seconds ``fn(*args)`` takes in a forked child (the window a kill may land in)."""
    started = time.monotonic()
    run_in_child(fn, *args)
    return time.monotonic() - started


def kill_after(delay: float, fn: Callable[..., Any], *args: Any) -> bool:
    """Start ``fn(*args)`` in a forked child and SIGKILL it after ``delay`` s; True when it was still running."""
    proc = _start_quiet(fn, args)
    proc.join(timeout=delay)
    return _sigkill(proc)


def kill_when(ready: Callable[[], bool], fn: Callable[..., Any], *args: Any, timeout: float = 60) -> bool:
    """Start ``fn(*args)`` in a forked child and SIGKILL it as soon as ``ready()`` is true (polled every 5 ms,
    at most ``timeout`` s); True when ``ready()`` held while the child was still running."""
    proc = _start_quiet(fn, args)
    deadline = time.monotonic() + timeout
    hit = False
    while proc.is_alive() and time.monotonic() < deadline and not (hit := ready()):
        time.sleep(0.005)
    return _sigkill(proc) and hit


def _start_quiet(fn: Callable[..., Any], args: tuple[Any, ...]) -> multiprocessing.process.BaseProcess:
    db.dispose_engines()
    proc = _FORK.Process(target=_run_quiet, args=(fn, args))
    proc.start()
    return proc


def _sigkill(proc: multiprocessing.process.BaseProcess) -> bool:
    """SIGKILL ``proc`` if it still runs and wait for it; True when the kill ended it."""
    alive = proc.is_alive()
    if alive:
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=60)
    return alive and proc.exitcode == -signal.SIGKILL


def _run_quiet(fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    db.dispose_engines()
    fn(*args)
