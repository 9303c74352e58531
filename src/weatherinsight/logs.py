"""Structured logging (structlog): console rendering for people, JSON lines for machines."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog


class _CurrentStderrHandler(logging.StreamHandler[TextIO]):
    """A stream handler that writes to whatever ``sys.stderr`` is now (see ``_stderr_logger``)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    # Resolve sys.stderr at each use, not at configure time: a test runner or CLI runner may swap and
    # close the stream it held when logging was configured.
    return structlog.PrintLogger(file=sys.stderr)


#: Libraries that log every HTTP request at INFO. Our HTTP client logs retries, failures and a per-run
#: summary instead: a line per request buried the summary, and the download threads queued on the logging
#: lock for it (29 % of thread samples in issue #19's profile).
PER_REQUEST_LOGGERS = ("httpx", "httpcore")


def quiet_per_request_loggers() -> None:
    """Let the per-request HTTP loggers through only from WARNING up, whoever configured logging."""
    for name in PER_REQUEST_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    """Configure stdlib logging and structlog once per process; logs go to stderr."""
    logging.basicConfig(
        level=level.upper(), handlers=[_CurrentStderrHandler()], format="%(message)s", force=True
    )
    quiet_per_request_loggers()
    renderer: Any = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
