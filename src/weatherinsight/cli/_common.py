"""Helpers shared by the CLI verb modules: settings loading, the Rich console, not-yet-built verbs."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from weatherinsight.logs import configure_logging
from weatherinsight.settings import Settings, load_settings

# Off a terminal (CI logs, pipes, test runners) Rich would fall back to 80 columns and cut summary tables;
# a fixed generous width keeps file names and reasons whole there.
_WIDTH = None if sys.stdout.isatty() else 200
console = Console(width=_WIDTH)
err_console = Console(stderr=True, width=_WIDTH)


def settings_from_env() -> Settings:
    """Load and validate settings (env + YAML) and configure logging; ConfigError surfaces in main()."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def not_built(verb: str, issue: int) -> None:
    err_console.print(f"[yellow]`weatherinsight {verb}` is not built yet (issue #{issue}).[/]")
    raise typer.Exit(3)
