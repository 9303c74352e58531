"""The CLI verb ``stage`` (with ``process``, the seed's shape, as an alias): raw DWD files → staged Parquet.

* ``weatherinsight process air_temperature <raw_path> <raw_version> [--master spark://…|local[*]]`` — stage the
  quarter named by the raw version (``2024Q1_raw_v1``) from the raw store at ``raw_path``; with ``--master`` the
  work runs on Spark, otherwise on the embedded path.
* ``weatherinsight stage --product … [--engine duckdb|spark] [--master spark://…] [--quarter 2024Q1 |
  2020Q1..2024Q4] [--retry-quarantined]`` (``--master`` implies Spark; ``process`` takes
  ``--retry-quarantined`` too).

Both parse their arguments here, call ``weatherinsight.staging.stage_product`` with progress bars
(``cli.progress``) and print a Rich summary table, quarantined files with reasons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from weatherinsight.cli._common import console, settings_from_env, spark_master_option
from weatherinsight.cli.progress import progress_bars
from weatherinsight.errors import InvalidQuarterError
from weatherinsight.quarters import parse_quarter_range
from weatherinsight.vocabulary import ENGINES, Status

if TYPE_CHECKING:
    from weatherinsight.staging import DailyStageResult, StageResult


def print_summary(result: StageResult) -> None:
    """The run summary as Rich tables: counts, rewritten quarters and quarantined files with reasons."""
    colour = {Status.SUCCEEDED: "green", Status.UNCHANGED: "cyan", Status.FAILED: "red"}[result.status]
    console.print(f"[bold {colour}]{result.message}[/]")
    summary = Table(title=f"staging {result.product} ({result.engine})")
    summary.add_column("item")
    summary.add_column("value", justify="right")
    for label, value in (
        ("raw files", result.files_total),
        ("new or changed raw files", result.files_new),
        ("files parsed", result.files_parsed),
        ("stations", result.stations),
        ("quarters rewritten", len(result.quarters_written)),
        ("quarters removed (no rows left)", len(result.quarters_removed)),
        ("quarters unchanged", result.quarters_unchanged),
        ("rows written", result.rows_written),
        ("station metadata rows upserted", result.station_rows),
        ("station location rows upserted", result.location_rows),
        ("files quarantined (this run)", len(result.quarantined)),
        ("files quarantined (earlier runs)", result.quarantined_before),
        ("quarantined files retried", len(result.retried)),
        ("retried files released (now staged)", len(result.released)),
        ("retried files still quarantined", len(result.still_quarantined)),
        ("rows left out (time reference MOZ/unknown)", result.rows_dropped_time_reference),
        ("rows left out (future / outside planned range)", sum(result.rows_left_out.values())),
        ("stale temp dirs of killed runs removed", len(result.stale_tmp_swept)),
        ("seconds", f"{result.seconds:.1f}"),
    ):
        summary.add_row(label, str(value))
    console.print(summary)
    if result.quarters_written:
        quarters = Table(title="rewritten quarters")
        quarters.add_column("quarter")
        quarters.add_column("rows", justify="right")
        quarters.add_column("staged version")
        for q in result.quarters_written:
            quarters.add_row(q, str(result.rows_by_quarter.get(q, 0)), result.versions.get(q, ""))
        console.print(quarters)
    if result.rows_left_out:
        left = Table(title="rows parsed but not staged")
        left.add_column("reason (quarter)")
        left.add_column("rows", justify="right")
        for why, n in sorted(result.rows_left_out.items()):
            left.add_row(why, str(n))
        console.print(left)
    if result.released:
        released = Table(title="released from quarantine (staged by this retry)")
        released.add_column("file")
        for rel in result.released:
            released.add_row(rel)
        console.print(released)
    if result.quarantined:
        bad = Table(title="quarantined files", show_lines=True)
        bad.add_column("file")
        bad.add_column("reason")
        bad.add_column("kept at")
        for qf in result.quarantined:
            bad.add_row(qf.rel, qf.reason, qf.quarantine_path)
        console.print(bad)


def print_daily_summary(result: DailyStageResult) -> None:
    """A daily product's run (``staging.stage_daily``): quarters written or unchanged, quarantined files."""
    console.print(
        f"[bold green]staged {result.product}: {result.files_parsed} files, "
        f"{len(result.rows_by_quarter)} quarters written, {len(result.unchanged)} unchanged[/]"
    )
    quarters = Table(title=f"staging {result.product} (daily)")
    quarters.add_column("quarter")
    quarters.add_column("rows written", justify="right")
    quarters.add_column("staged version")
    for q, version in sorted(result.versions.items()):
        rows = result.rows_by_quarter.get(q)
        quarters.add_row(q, "unchanged" if rows is None else str(rows), version)
    console.print(quarters)
    if result.quarantined:
        bad = Table(title="quarantined files")
        bad.add_column("file: reason")
        for line in result.quarantined:
            bad.add_row(line)
        console.print(bad)


def stage(
    product: Annotated[
        str, typer.Option("--product", "-p", help="product name or DWD code, e.g. air_temperature")
    ],
    engine: Annotated[str, typer.Option(help="duckdb (embedded, default) or spark")] = "duckdb",
    quarter: Annotated[
        str | None, typer.Option(help="only write these quarters: 2024Q1 or 2020Q1..2024Q4 (default: all)")
    ] = None,
    master: Annotated[
        str | None,
        typer.Option(
            help="Spark master, e.g. spark://host:7077; implies --engine spark (default: spark.master)",
            callback=spark_master_option,
        ),
    ] = None,
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
    retry_quarantined: Annotated[
        bool,
        typer.Option(
            "--retry-quarantined",
            help="parse the product's quarantined files again (after a parser fix); those that now parse "
            "are staged and released, the others stay quarantined",
        ),
    ] = False,
) -> None:
    """Stage a product's raw files into hourly Parquet partitioned by year/quarter."""
    # The service and the registry load pyarrow, Ibis and SQLAlchemy: imported here, so `--help` stays cheap.
    from weatherinsight.dwd.products import get_product
    from weatherinsight.staging import stage_daily, stage_product

    settings = settings_from_env()
    if engine not in ENGINES:
        raise typer.BadParameter("use duckdb or spark", param_hint="--engine")
    quarters = parse_quarter_range(quarter) if quarter else None
    if master:  # as for `aggregate`: naming a master means running on it
        engine = "spark"
    prod = get_product(product)
    if prod.daily:
        if engine != "duckdb" or retry_quarantined:
            raise typer.BadParameter(
                f"{prod.name} is a daily product: staged on the embedded path, without --retry-quarantined",
                param_hint="--engine/--retry-quarantined",
            )
        print_daily_summary(stage_daily(settings, prod, quarters=quarters))
        return
    with progress_bars(progress) as report:
        result = stage_product(
            settings,
            prod,
            quarters=quarters,
            engine="spark" if engine == "spark" else "duckdb",
            spark_master=master,
            progress=report,
            retry_quarantined=retry_quarantined,
        )
    print_summary(result)


def process(
    product: Annotated[str, typer.Argument(help="product name, e.g. air_temperature")],
    raw_path: Annotated[
        str, typer.Argument(help="the raw store (local path or s3://…) holding dwd/<product>/")
    ],
    raw_version: Annotated[str, typer.Argument(help="the raw dataset version to stage, e.g. 2024Q1_raw_v1")],
    master: Annotated[
        str | None,
        typer.Option(
            help="run on Spark at this master (spark://host:7077 or local[*])", callback=spark_master_option
        ),
    ] = None,
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
    retry_quarantined: Annotated[
        bool,
        typer.Option(
            "--retry-quarantined",
            help="parse quarantined files covering this quarter again; those that now parse are released",
        ),
    ] = False,
) -> None:
    """Stage the quarter of RAW_VERSION from RAW_PATH (the seed's processing job shape)."""
    from weatherinsight.dwd.products import get_product  # as in `stage`: the services only when run
    from weatherinsight.staging import stage_product
    from weatherinsight.warehouse.lineage import VersionError, parse_version_name

    settings = settings_from_env().model_copy(update={"raw_store_url": raw_path})
    try:
        quarter, _ = parse_version_name(settings.versioning.raw, raw_version)
    except VersionError:
        raise InvalidQuarterError(
            raw_version,
            f"a raw version has the form {settings.versioning.raw} (versioning.raw), e.g. 2024Q1_raw_v1",
        ) from None
    with progress_bars(progress) as report:
        result = stage_product(
            settings,
            get_product(product),
            quarters=[quarter],
            engine="spark" if master else "duckdb",
            spark_master=master,
            progress=report,
            parent_raw_version=raw_version,
            retry_quarantined=retry_quarantined,
        )
    print_summary(result)
