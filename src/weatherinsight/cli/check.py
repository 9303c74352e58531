"""CLI verb ``check``: ``weatherinsight check 2024Q1 [--products …]`` runs the five data-quality checks.

Prints every finding (quarter, product, table, column, measured value, threshold) as a Rich table, stores
them in ``quality_check_results``, sends the alert e-mail on fatal findings (when SMTP is configured) and
exits 1 on a fatal finding; warnings alone exit 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from weatherinsight import pipeline  # names its use cases lazily: `check --help` loads none of them
from weatherinsight.cli._common import console, err_console, settings_from_env
from weatherinsight.cli.orchestrate import ProductsOption, split_products
from weatherinsight.quarters import Quarter

if TYPE_CHECKING:
    from weatherinsight.quality.checks import QualityReport


def findings_table(report: QualityReport) -> Table:
    """Every finding of a check run, failures first."""
    table = Table(title=f"Data quality {report.quarter} (run {report.run_id})")
    for name in ("result", "check", "product", "table", "column"):
        table.add_column(name, no_wrap=True)
    table.add_column("measured", justify="right")
    table.add_column("threshold", justify="right")
    table.add_column("detail", overflow="fold")
    order = sorted(report.findings, key=lambda f: (f.passed, f.severity != "fatal"))
    for f in order:
        result = "[green]ok" if f.passed else ("[red]FATAL" if f.severity == "fatal" else "[yellow]warning")
        table.add_row(
            result,
            f.check,
            f.product,
            f.table,
            f.column or "",
            "" if f.measured is None else f"{f.measured:g}",
            "" if f.threshold is None else f"{f.threshold:g}",
            f.message,
        )
    return table


def check(
    quarter: Annotated[str, typer.Argument(help="the quarter to check, e.g. 2024Q1")],
    products: ProductsOption = None,
) -> None:
    """Run the data-quality checks of one quarter; exit 1 on a fatal finding."""
    q = Quarter.parse(quarter)
    settings = settings_from_env()
    report: QualityReport = pipeline.quality_check(settings, q, products=split_products(products))
    console.print(findings_table(report))
    console.print(
        f"{len(report.findings)} checks: {len(report.fatal)} fatal, {len(report.warnings)} warning(s); "
        f"stored in quality_check_results (run_id {report.run_id})"
    )
    if report.fatal:
        err_console.print(f"[bold red]{q} failed {len(report.fatal)} fatal check(s)[/]")
        raise typer.Exit(1)
