"""Helpers shared by the CLI verb modules: settings loading, the Rich console, the one way a typed error
ends a command (one line on stderr, exit code 2), the ``--master`` check, not-yet-built verbs."""

from __future__ import annotations

import re
import shutil
import sys
from typing import NoReturn

import typer
from rich.console import Console

from weatherinsight.config_checks import spark_master_problem
from weatherinsight.errors import WeatherInsightError
from weatherinsight.logs import configure_logging
from weatherinsight.settings import Settings, load_settings

console = Console()
err_console = Console(stderr=True)


def fit_console_width() -> None:
    """Off a terminal (CI logs, pipes, test runners) Rich falls back to 80 columns and cuts summary tables;
    use $COLUMNS when given, else 200, so file names and reasons stay whole. Called per invocation."""
    for c in (console, err_console):
        if not c.is_terminal:
            c.width = max(shutil.get_terminal_size(fallback=(200, 50)).columns, 120)


fit_console_width()


def settings_from_env() -> Settings:
    """Load and validate settings (env + YAML) and configure logging; ConfigError surfaces in main()."""
    fit_console_width()
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


#: Exit code of a command ended by a typed error (bad configuration, bad input, unreachable service).
ERROR_EXIT_CODE = 2


def exit_on_error(exc: WeatherInsightError) -> NoReturn:
    """End the command with ``error: <message>`` as exactly one line on stderr and exit code 2.

    Plain text, not Rich: Rich wraps at the console width and would split a long message (a path, a URL) over
    several lines; messages that carry newlines (YAML parser output) are folded onto one line.
    """
    line = re.sub(r"\s*\n\s*", " ", str(exc)).strip()
    sys.stderr.write(f"error: {line}\n")
    sys.stderr.flush()
    sys.exit(ERROR_EXIT_CODE)


def spark_master_option(value: str | None) -> str | None:
    """Typer callback of every ``--master``: the same check as ``spark.master``, as a usage error (exit 2)."""
    problem = spark_master_problem(value) if value is not None else None
    if problem:
        raise typer.BadParameter(problem)
    return value


def not_built(verb: str, issue: int) -> None:
    err_console.print(f"[yellow]`weatherinsight {verb}` is not built yet (issue #{issue}).[/]")
    raise typer.Exit(3)
