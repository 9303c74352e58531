"""CLI verb group `api` (issue #7 fills it)."""

from __future__ import annotations

import typer

from weatherinsight.cli._common import not_built

app = typer.Typer(help="api commands", no_args_is_help=True)


@app.command("status")
def status() -> None:
    """Not built yet."""
    not_built("api", 7)
