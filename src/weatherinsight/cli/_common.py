"""Helpers shared by the CLI verb modules: settings loading, the Rich console, not-yet-built verbs."""

from __future__ import annotations

import typer
from rich.console import Console

from weatherinsight.logs import configure_logging
from weatherinsight.settings import Settings, load_settings

console = Console()
err_console = Console(stderr=True)


def settings_from_env() -> Settings:
    """Load and validate settings (env + YAML) and configure logging; ConfigError surfaces in main()."""
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def not_built(verb: str, issue: int) -> None:
    err_console.print(f"[yellow]`weatherinsight {verb}` is not built yet (issue #{issue}).[/]")
    raise typer.Exit(3)
