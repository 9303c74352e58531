"""CLI verb group ``mirror`` (issue #3): build, serve and release a simulated DWD archive.

* ``weatherinsight mirror build DIR --stations N --years Y --seed S [--today YYYY-MM-DD] [--product …]``
* ``weatherinsight mirror serve DIR --port P [--host 127.0.0.1] [--fault KIND[:PATTERN[:TIMES]] …]``
* ``weatherinsight mirror release DIR`` — write the next daily release of the recent files
* ``weatherinsight mirror status DIR`` — what the manifest says

A DIR that is not a built mirror (missing, a file, no manifest) ends ``status``, ``release`` and ``serve`` with
one ``error:`` line naming it (exit 2); ``build`` refuses a file or a directory holding other files.
The mirror modules are imported inside each command, so ``weatherinsight mirror --help`` loads no pyarrow.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from weatherinsight.cli._common import console
from weatherinsight.cli.progress import progress_bars

if TYPE_CHECKING:
    from weatherinsight.mirror.layout import BuildSummary

app = typer.Typer(help="build, serve and release a simulated DWD mirror", no_args_is_help=True)


def _print(summary: BuildSummary, title: str) -> None:
    table = Table(title=title)
    table.add_column("item")
    table.add_column("value", justify="right")
    s = summary.spec
    for label, value in (
        ("stations", str(s.stations)),
        ("historical years", str(s.years)),
        ("seed", str(s.seed)),
        ("release (today)", f"{s.release} ({s.release_today.isoformat()})"),
        ("files written", str(summary.files)),
        ("rows", f"{summary.rows:,}"),
        ("MB", f"{summary.bytes / 1e6:.1f}"),
        ("seconds", f"{summary.seconds:.1f}"),
        ("rows/s", f"{summary.rows_per_second:,.0f}"),
    ):
        table.add_row(label, value)
    console.print(table)


@app.command("build")
def build(
    directory: Annotated[Path, typer.Argument(help="where to write the mirror")],
    stations: Annotated[int, typer.Option(min=1)] = 5,
    years: Annotated[int, typer.Option(min=1, help="full historical years before this one")] = 2,
    seed: Annotated[int, typer.Option()] = 0,
    today: Annotated[
        str | None, typer.Option(help="simulated 'today' (YYYY-MM-DD); default: real today")
    ] = None,
    product: Annotated[
        list[str] | None, typer.Option("--product", help="products (repeatable); default: all")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="processes; default 2 for big mirrors")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> None:
    """Write a DWD-compatible archive of N stations × Y years × the products under DIR."""
    from weatherinsight.mirror.layout import check_build_target
    from weatherinsight.mirror.simulate import build_mirror

    check_build_target(directory)
    with progress_bars(progress, prefix="[bold]mirror[/] ") as report:
        summary = build_mirror(
            directory,
            stations=stations,
            years=years,
            seed=seed,
            today=date.fromisoformat(today) if today else None,
            products=product,
            progress=report,
            workers=workers,
        )
    _print(summary, f"mirror built in {directory}")


@app.command("release")
def release(
    directory: Annotated[Path, typer.Argument(help="a built mirror")],
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> None:
    """Write the next daily release of every active station's recent files (QN upgrades, one revision)."""
    from weatherinsight.mirror.layout import check_mirror
    from weatherinsight.mirror.simulate import release_recent

    check_mirror(directory)  # before the progress bars start
    with progress_bars(progress, prefix="[bold]mirror[/] ") as report:
        summary = release_recent(directory, progress=report)
    _print(summary, f"mirror release in {directory}")


@app.command("status")
def status(directory: Annotated[Path, typer.Argument(help="a built mirror")]) -> None:
    """Show how the mirror was built and which release it is at."""
    from weatherinsight.mirror.layout import load_spec

    console.print_json(load_spec(directory).to_json())


def _parse_fault(text: str) -> tuple[str, str, int | None]:
    from weatherinsight.mirror.server import FAULT_KINDS

    kind, _, rest = text.partition(":")
    pattern, _, times = rest.partition(":")
    if kind not in FAULT_KINDS:
        raise typer.BadParameter(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
    return kind, pattern or "*", int(times) if times else None


@app.command("serve")
def serve(
    directory: Annotated[Path, typer.Argument(help="a built mirror")],
    port: Annotated[int, typer.Option(help="0 = any free port")] = 8080,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    fault: Annotated[
        list[str] | None, typer.Option(help="KIND[:PATTERN[:TIMES]], e.g. 503:*_akt.zip:2 (repeatable)")
    ] = None,
) -> None:
    """Serve DIR over HTTP like opendata.dwd.de until Ctrl-C; faults can also be posted to the control URL."""
    from weatherinsight.mirror.layout import check_mirror
    from weatherinsight.mirror.server import CONTROL_PATH, MirrorHTTPServer

    check_mirror(directory)
    server = MirrorHTTPServer(directory, host, port)
    for f in fault or []:
        kind, pattern, times = _parse_fault(f)
        server.faults.add(kind, pattern, times=times)
    server.start()
    console.print(f"serving {directory} at [bold]{server.base_url}[/]", soft_wrap=True)
    console.print(f"fault control: POST/DELETE {server.url.rstrip('/')}{CONTROL_PATH}", soft_wrap=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
