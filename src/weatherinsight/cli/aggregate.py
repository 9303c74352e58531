"""CLI verb ``aggregate``: staged Parquet → curated quarterly features, published as a dataset version (issue #5).

Two shapes, both calling ``weatherinsight.aggregate.aggregate_quarter``:

* the seed's job shape ``weatherinsight aggregate air_temperature 2024 1 2024Q1_staged_v1
  --output-version 2024Q1_v1 [--master spark://…|local[*]]`` (with ``--master`` the work runs on Spark);
* ``weatherinsight aggregate --quarter 2024Q1 [--product …]… [--engine duckdb|spark] [--force]`` — every
  configured product unless ``--product`` is given (repeatable).

A failing product does not stop the others; the summary is a Rich table and the exit code is 1 when any
product failed (a single-product run re-raises its typed error instead, exit code 2).
"""

from __future__ import annotations

from typing import Annotated, Any, cast

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from weatherinsight.aggregate import AggregateResult, aggregate_quarter
from weatherinsight.cli._common import console, err_console, settings_from_env, spark_master_option
from weatherinsight.dwd.products import get_product
from weatherinsight.engines.spark import session as spark_session
from weatherinsight.errors import WeatherInsightError
from weatherinsight.quarters import Quarter
from weatherinsight.vocabulary import ENGINES, Engine, Status

#: How a result reads in the summary table: a succeeded aggregation published a new version.
_LABEL = {Status.SUCCEEDED: ("published", "green"), Status.UNCHANGED: ("unchanged", "cyan")}


def print_summary(results: list[AggregateResult], failures: dict[str, str]) -> None:
    """One row per product: status, version published (or kept), previous version, rows, inputs, time."""
    table = Table(title="aggregation")
    for col in ("product", "quarter", "engine", "status", "version", "previous", "rows", "staged", "seconds"):
        table.add_column(col, justify="right" if col in ("rows", "seconds") else "left")
    for r in results:
        label, colour = _LABEL[r.status]
        table.add_row(
            r.product,
            r.quarter,
            r.engine,
            f"[{colour}]{label}[/]",
            r.dataset_version,
            r.previous_version or "",
            str(r.rows),
            ", ".join(r.staged_versions),
            f"{r.seconds:.1f}",
        )
    for product, error in failures.items():
        table.add_row(product, "", "", "[red]failed[/]", "", "", "", "", "")
        err_console.print(f"[red]{product}:[/] {error}")
    console.print(table)


def aggregate(
    product: Annotated[str | None, typer.Argument(help="product (seed shape), e.g. air_temperature")] = None,
    year: Annotated[int | None, typer.Argument(help="year (seed shape)")] = None,
    quarter_number: Annotated[int | None, typer.Argument(metavar="QUARTER", help="1..4 (seed shape)")] = None,
    staged_version: Annotated[
        str | None, typer.Argument(help="the staged version to aggregate, e.g. 2024Q1_staged_v1")
    ] = None,
    quarter: Annotated[str | None, typer.Option("--quarter", "-q", help="quarter, e.g. 2024Q1")] = None,
    products: Annotated[
        list[str] | None,
        typer.Option("--product", "-p", help="product (repeatable; default: all configured)"),
    ] = None,
    engine: Annotated[str, typer.Option(help="duckdb (embedded, default) or spark")] = "duckdb",
    force: Annotated[
        bool, typer.Option(help="publish a new version even if the inputs are unchanged")
    ] = False,
    output_version: Annotated[
        str | None, typer.Option(help="the version name this run must publish, e.g. 2024Q1_v1")
    ] = None,
    master: Annotated[
        str | None,
        typer.Option(
            help="Spark master, e.g. spark://host:7077; implies --engine spark", callback=spark_master_option
        ),
    ] = None,
) -> None:
    """Compute the quarterly features of staged data and publish them as the next curated version."""
    settings = settings_from_env()
    if product is not None:
        if year is None or quarter_number is None:
            raise typer.BadParameter("the seed shape is PRODUCT YEAR QUARTER [STAGED_VERSION]")
        if quarter is not None or products:
            raise typer.BadParameter("give either PRODUCT YEAR QUARTER or --quarter/--product, not both")
        q = Quarter(year, quarter_number)
        names = [get_product(product).name]
    else:
        if quarter is None:
            raise typer.BadParameter("give PRODUCT YEAR QUARTER or --quarter", param_hint="--quarter")
        q = Quarter.parse(quarter)
        names = [get_product(p).name for p in products] if products else list(settings.product_types)
    if master:
        engine = "spark"
    if engine not in ENGINES:
        raise typer.BadParameter(f"use one of {', '.join(ENGINES)}", param_hint="--engine")
    chosen = cast(Engine, engine)  # checked against ENGINES just above
    if output_version and len(names) > 1:
        raise typer.BadParameter("--output-version needs a single product", param_hint="--output-version")

    results: list[AggregateResult] = []
    failures: dict[str, str] = {}
    session: Any = None
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(f"aggregating {q}", total=len(names))
        for name in names:
            progress.update(task, description=f"aggregating {name} {q} ({chosen})")
            if chosen == "spark" and session is None:
                session = spark_session(settings, master)
            try:
                results.append(
                    aggregate_quarter(
                        settings,
                        name,
                        q,
                        engine=chosen,
                        force=force,
                        staged_version=staged_version,
                        output_version=output_version,
                        spark_master=master,
                        spark_session=session,
                    )
                )
            except WeatherInsightError as exc:
                if len(names) == 1:
                    raise
                failures[name] = str(exc)
            progress.advance(task)
    print_summary(results, failures)
    if failures:
        raise typer.Exit(1)
