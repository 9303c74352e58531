"""CLI verb ``ingest`` (issue #3): ``weatherinsight ingest --variable air_temperature [--period …] [--stations …]``.

The seed's shape (``--variable <product>``) works; ``--product`` is an alias. Without a product every product
of ``product_types`` in the config is ingested, followed by the daily products their day-based indices read
(``daily_climate``, issue #17), as ``run`` and ``backfill`` ingest them; ``--product daily_climate`` ingests
the daily KL files alone; ``--revalidate`` sends the conditional GET for every stored file (no quick check). Prints a Rich summary table per product and a table of the
failed files with reasons; a run whose failure share passes the configured maximum exits non-zero.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from weatherinsight.cli._common import console, err_console, settings_from_env
from weatherinsight.cli.progress import progress_bars
from weatherinsight.errors import RunFailedError
from weatherinsight.features.day_sources import daily_inputs
from weatherinsight.quarters import Quarter

if TYPE_CHECKING:
    from weatherinsight.ingest import IngestResult


def summary_table(result: IngestResult) -> Table:
    """The run summary (counts; "quick-checked": of the unchanged files, those the listing alone showed
    unchanged, so no request was sent) as a Rich table."""
    table = Table(title=f"ingest {result.product} ({result.period}) — run {result.run_id}: {result.status}")
    for col in (
        "listed",
        "new",
        "changed",
        "unchanged",
        "failed",
        "quick-checked",
        "MB downloaded",
        "seconds",
    ):
        table.add_column(col, justify="right")
    table.add_row(
        str(result.files_listed),
        str(result.files_new),
        str(result.files_changed),
        str(result.files_unchanged),
        str(result.files_failed),
        str(result.files_quick_checked),
        f"{result.bytes_downloaded / 1e6:.2f}",
        f"{result.seconds:.1f}",
    )
    return table


def failures_table(result: IngestResult) -> Table:
    """One row per failed file (or listing): period, file name and why."""
    table = Table(title="failed files")
    table.add_column("period")
    table.add_column("file")
    table.add_column("reason")
    for f in result.failures:
        table.add_row(f.period, f.file_name, f.reason)
    return table


def _stations(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError as exc:
        raise typer.BadParameter(
            f"--stations takes comma-separated station ids, e.g. 44,1975 ({exc})"
        ) from exc


def _print(result: IngestResult) -> None:
    console.print(summary_table(result))
    if result.failures:
        console.print(failures_table(result))
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {w}")
    if result.raw_versions:
        console.print(f"raw versions: {', '.join(result.raw_versions)}")


def ingest(
    variable: Annotated[
        list[str] | None,
        typer.Option(
            "--variable",
            "--product",
            "-v",
            help="product name or DWD code (repeatable); default: every configured product and the daily "
            "products they read (daily_climate)",
        ),
    ] = None,
    period: Annotated[str, typer.Option(help="recent | historical | all")] = "all",
    stations: Annotated[str | None, typer.Option(help="comma-separated station ids, e.g. 44,1975")] = None,
    quarter: Annotated[
        str | None, typer.Option(help="limit historical zips to this quarter, e.g. 2024Q1")
    ] = None,
    revalidate: Annotated[
        bool,
        typer.Option(
            "--revalidate",
            help="send the conditional GET for every stored file, even one whose listing size and time are "
            "unchanged (ingest.quick_check off for this run)",
        ),
    ] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> None:
    """Fetch new and changed DWD files into the raw store and record the run."""
    # The service and the registry load pyarrow, SQLAlchemy and httpx: imported here, so `ingest --help` is cheap.
    from weatherinsight.dwd.products import PERIODS
    from weatherinsight.ingest import IngestResult, ingest_product

    if period not in (*PERIODS, "all"):
        raise typer.BadParameter(f"--period must be recent, historical or all, not {period!r}")
    q = Quarter.parse(quarter) if quarter else None  # an InvalidQuarterError reaches the CLI's error handler
    settings = settings_from_env()
    if revalidate:
        settings = settings.model_copy(
            update={"ingest": settings.ingest.model_copy(update={"quick_check": False})}
        )
    # Without --product: the configured products and the daily KL values their day indices read.
    products = variable or [*settings.product_types, *daily_inputs(settings.product_types)]
    failed: list[RunFailedError] = []
    for name in products:
        try:
            with progress_bars(progress, prefix="[bold]ingest[/] ") as report:
                result = ingest_product(
                    settings, name, period=period, stations=_stations(stations), quarter=q, progress=report
                )
        except RunFailedError as exc:
            partial = getattr(exc, "result", None)
            if isinstance(partial, IngestResult):
                _print(partial)
            err_console.print(f"[bold red]error:[/] {exc}")
            failed.append(exc)
            continue
        _print(result)
    if failed:
        raise typer.Exit(1)
