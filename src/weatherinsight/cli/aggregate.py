"""CLI verb ``aggregate``: staged Parquet → curated quarterly features, published as a dataset version (issue #5).

Two shapes, both calling ``weatherinsight.aggregate.aggregate_quarter``:

* the seed's job shape ``weatherinsight aggregate air_temperature 2024 1 2024Q1_staged_v1
  --output-version 2024Q1_v1 [--master spark://…|local[*]]`` (with ``--master`` the work runs on Spark);
* ``weatherinsight aggregate --quarter 2024Q1 [--product …]… [--engine duckdb|spark] [--force]
  [--period month|season|quarter|year]`` — every configured product unless ``--product`` is given
  (repeatable); ``--period`` (default quarter) aggregates the periods of that kind whose last day lies in the
  quarter instead: ``--quarter 2024Q1 --period month`` → 2024-01, 2024-02, 2024-03; ``--period season`` →
  2024DJF (December 2023 – February 2024); ``--quarter 2024Q4 --period year`` → 2024.

A failing product does not stop the others; the summary is a Rich table and the exit code is 1 when any
product failed (a single-product run re-raises its typed error instead, exit code 2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from weatherinsight.cli._common import console, err_console, settings_from_env, spark_master_option
from weatherinsight.errors import InvalidPeriodError, WeatherInsightError
from weatherinsight.periods import Period, parse_kind, periods_ending_in
from weatherinsight.quarters import Quarter
from weatherinsight.vocabulary import ENGINES, Engine, Status

if TYPE_CHECKING:
    from weatherinsight.aggregate import AggregateResult

#: How a result reads in the summary table: a succeeded aggregation published a new version.
_LABEL = {Status.SUCCEEDED: ("published", "green"), Status.UNCHANGED: ("unchanged", "cyan")}


def print_summary(results: list[AggregateResult], failures: dict[str, str]) -> None:
    """One row per product: status, version published (or kept), previous version, rows, inputs, time."""
    table = Table(title="aggregation")
    for col in ("product", "period", "engine", "status", "version", "previous", "rows", "staged", "seconds"):
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
    period: Annotated[
        str,
        typer.Option(
            "--period",
            help="month|season|quarter|year: aggregate the periods of this kind whose last day is in the quarter",
        ),
    ] = "quarter",
) -> None:
    """Compute the features of staged data per quarter, month, season or year and publish a new version."""
    # The service and the registry load pyarrow, DuckDB and Ibis: imported here, so `aggregate --help` stays cheap.
    from weatherinsight.aggregate import aggregate_quarter
    from weatherinsight.dwd.products import get_product
    from weatherinsight.engines.spark import session as spark_session

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
    try:
        kind = parse_kind(period)
    except InvalidPeriodError as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from exc
    targets: list[Quarter | Period] = [q] if kind == "quarter" else list(periods_ending_in(q, (kind,)))
    if not targets:
        raise typer.BadParameter(f"no {kind} ends in {q}; a year ends in Q4", param_hint="--period")
    if output_version and len(targets) > 1:
        raise typer.BadParameter(
            f"--output-version needs a single period; {q} ends {len(targets)} of kind {kind}",
            param_hint="--output-version",
        )
    jobs = [(name, target) for target in targets for name in names]

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
        task = progress.add_task(f"aggregating {q}", total=len(jobs))
        for name, target in jobs:
            progress.update(task, description=f"aggregating {name} {target} ({chosen})")
            if chosen == "spark" and session is None:
                session = spark_session(settings, master)
            try:
                results.append(
                    aggregate_quarter(
                        settings,
                        name,
                        target,
                        engine=chosen,
                        force=force,
                        staged_version=staged_version,
                        output_version=output_version,
                        spark_master=master,
                        spark_session=session,
                    )
                )
            except WeatherInsightError as exc:
                if len(jobs) == 1:
                    raise
                failures[f"{name} {target}"] = str(exc)
            progress.advance(task)
    print_summary(results, failures)
    if failures:
        raise typer.Exit(1)
