"""CLI verbs ``run`` and ``backfill``: the quarterly pipeline without Airflow.

``weatherinsight run 2024Q1 [--products air_temperature,wind] [--force]`` runs ingest → stage → aggregate
for every product (in parallel within the configured pool limits) with Rich progress and prints the per
product summary. ``weatherinsight backfill 2020Q1..2024Q4 [--products …] [--force]`` does that for a range
(ingest each quarter, stage all of them in one pass per product, aggregate each quarter) and prints every
quarter × product with its outcome, rows in the database and error. Both exit 1
when anything failed; nothing stops at the first failure. ``--period month,season,year`` (default: the
configured ``features.periods``; ``--period quarter`` = quarters only) chooses the periods published beside
each quarter once every quarter they lie in is staged (issue #18). ``--engine duckdb|spark`` (default: the
configured ``pipeline.engine``) and ``--master spark://…|local[N]`` (implies Spark; default ``spark.master``)
choose where staging and aggregation compute, as for the ``stage`` and ``aggregate`` verbs.
"""

from __future__ import annotations

from typing import Annotated

import typer

# `pipeline` names its use cases lazily (PEP 562): `run --help` and `backfill --help` load none of them.
from weatherinsight import pipeline
from weatherinsight.cli._common import console, err_console, settings_from_env, spark_master_option
from weatherinsight.cli.progress import progress_bars
from weatherinsight.errors import InvalidPeriodError
from weatherinsight.periods import parse_kind
from weatherinsight.quarters import Quarter, parse_quarter_range
from weatherinsight.settings import Settings
from weatherinsight.vocabulary import ENGINES, Engine


def split_products(values: list[str] | None) -> list[str] | None:
    """``--products a,b --products c`` → ``[a, b, c]`` (None: every configured product)."""
    if not values:
        return None
    return [p.strip() for v in values for p in v.split(",") if p.strip()] or None


ProductsOption = Annotated[
    list[str] | None,
    typer.Option("--products", "-p", help="products, comma-separated or repeated; default: all configured"),
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="write a new dataset version even when the inputs are unchanged")
]
ProgressOption = Annotated[bool, typer.Option("--progress/--no-progress", help="show Rich progress bars")]
PeriodsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--period",
        help="month|season|year|quarter, comma-separated or repeated: periods published beside the quarters "
        "(default: features.periods of the configuration; quarter alone = quarters only)",
    ),
]

EngineOption = Annotated[
    str | None,
    typer.Option(
        help="duckdb (embedded) or spark: the engine of staging and aggregation (default: pipeline.engine)"
    ),
]
MasterOption = Annotated[
    str | None,
    typer.Option(
        help="Spark master, e.g. spark://host:7077; implies --engine spark (default: spark.master)",
        callback=spark_master_option,
    ),
]


def with_engine(settings: Settings, engine: str | None, master: str | None) -> Settings:
    """``settings`` whose ``pipeline.engine`` is ``--engine`` (Spark when ``--master`` is given) and whose
    ``spark.master`` is ``--master``; unchanged without either option."""
    if engine is not None and engine not in ENGINES:
        raise typer.BadParameter(f"use one of {', '.join(ENGINES)}", param_hint="--engine")
    if master:  # as for `stage` and `aggregate`: naming a master means running on it
        engine = "spark"
    if engine is None:
        return settings
    chosen: Engine = "spark" if engine == "spark" else "duckdb"
    update: dict[str, object] = {"pipeline": settings.pipeline.model_copy(update={"engine": chosen})}
    if master:
        update["spark"] = settings.spark.model_copy(update={"master": master})
    return settings.model_copy(update=update)


def with_periods(settings: Settings, values: list[str] | None) -> Settings:
    """``settings`` whose ``features.periods`` are the ``--period`` kinds (unchanged without ``--period``)."""
    if not values:
        return settings
    try:
        kinds = [parse_kind(p) for v in values for p in v.split(",") if p.strip()]
    except InvalidPeriodError as exc:
        raise typer.BadParameter(str(exc), param_hint="--period") from exc
    chosen = settings.features.model_copy(
        update={"periods": tuple(dict.fromkeys(k for k in kinds if k != "quarter"))}
    )
    return settings.model_copy(update={"features": chosen})


def _finish(report: pipeline.RunReport, title: str) -> None:
    from weatherinsight.cli.report import summary_table  # the pipeline's reports load SQLAlchemy and pyarrow

    console.print(summary_table(report, title=title))
    if not report.ok:
        err_console.print(
            f"[bold red]{len(report.failed)} of {len(report.outcomes)} quarter × product failed[/]: "
            + ", ".join(f"{o.quarter} {o.product}" for o in report.failed)
        )
        raise typer.Exit(1)


def run(
    quarter: Annotated[str, typer.Argument(help="the quarter to process, e.g. 2024Q1")],
    products: ProductsOption = None,
    force: ForceOption = False,
    progress: ProgressOption = True,
    periods: PeriodsOption = None,
    engine: EngineOption = None,
    master: MasterOption = None,
) -> None:
    """Run ingest → process → aggregate for one quarter (every product; products in parallel)."""
    q = Quarter.parse(quarter)
    settings = with_engine(with_periods(settings_from_env(), periods), engine, master)
    with progress_bars(progress, console=console) as report_progress:
        report = pipeline.run_quarter(
            settings, q, products=split_products(products), force=force, progress=report_progress
        )
    _finish(report, f"WeatherInsight run {q}")


def backfill(
    quarters: Annotated[str, typer.Argument(help="a quarter range, e.g. 2020Q1..2024Q4 (or one quarter)")],
    products: ProductsOption = None,
    force: ForceOption = False,
    progress: ProgressOption = True,
    periods: PeriodsOption = None,
    engine: EngineOption = None,
    master: MasterOption = None,
) -> None:
    """Run the pipeline for a range of quarters; one failing quarter × product does not stop the rest."""
    from weatherinsight.pipeline.backfill import backfill as run_backfill  # the engines only when it runs

    qs = parse_quarter_range(quarters)
    last = Quarter.last_complete()
    if qs[-1] > last:
        raise typer.BadParameter(f"{qs[-1]} has not ended yet; the last complete quarter is {last}")
    settings = with_engine(with_periods(settings_from_env(), periods), engine, master)
    with progress_bars(progress, console=console) as report_progress:
        report = run_backfill(
            settings, qs, products=split_products(products), force=force, progress=report_progress
        )
    _finish(report, f"WeatherInsight backfill {qs[0]}..{qs[-1]}")
