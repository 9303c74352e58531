"""The ``weatherinsight`` command: one Typer app, one module per verb under ``weatherinsight.cli``.

Verbs: ingest, stage (+ its alias process), aggregate, run, backfill, check, stations, features, mirror, api, airflow, db. Each verb module owns its
options and calls the package (``weatherinsight.pipeline`` and the services); no business logic lives here.

Verb modules are imported only when their verb runs (:class:`LazyVerbs`): ``weatherinsight --help`` and
``weatherinsight ingest`` do not pay for pandas, Ibis, DuckDB, FastAPI or Alembic, which other verbs need.
The one-line help of each verb shown by ``weatherinsight --help`` is therefore kept in :data:`VERBS`
(``tests/cli/test_startup.py`` checks it equals the verb's own help).
"""

from __future__ import annotations

import importlib
from typing import Any, NamedTuple

import typer
from typer.core import TyperGroup

from weatherinsight.errors import WeatherInsightError


class Verb(NamedTuple):
    """Where a verb lives: ``weatherinsight.cli.<module>``'s ``attr`` (a command function or a Typer app)."""

    module: str
    attr: str
    short_help: str


#: Every verb in the order ``--help`` lists them.
VERBS: dict[str, Verb] = {
    "ingest": Verb(
        "ingest", "ingest", "Fetch new and changed DWD files into the raw store and record the run."
    ),
    "process": Verb(
        "stage",
        "process",
        "Stage the quarter of RAW_VERSION from RAW_PATH (the seed's processing job shape).",
    ),
    "stage": Verb(
        "stage", "stage", "Stage a product's raw files into hourly Parquet partitioned by year/quarter."
    ),
    "aggregate": Verb(
        "aggregate",
        "aggregate",
        "Compute the features of staged data per quarter, month, season or year and publish a new version.",
    ),
    "run": Verb(
        "orchestrate",
        "run",
        "Run ingest → process → aggregate for one quarter (every product; products in parallel).",
    ),
    "backfill": Verb(
        "orchestrate",
        "backfill",
        "Run the pipeline for a range of quarters; one failing quarter × product does not stop the rest.",
    ),
    "normals": Verb(
        "normals",
        "normals",
        "Compute each numeric feature's climate normal per station and period of the year and publish them.",
    ),
    "check": Verb("check", "check", "Run the data-quality checks of one quarter; exit 1 on a fatal finding."),
    "stations": Verb("stations", "stations", "Stations matching every filter given, as a table."),
    "features": Verb(
        "features",
        "features",
        "Published features of PRODUCT: one row per station × quarter or --period, with coverage and anomalies.",
    ),
    "mirror": Verb("mirror", "app", "build, serve and release a simulated DWD mirror"),
    "api": Verb("api", "app", "The delivery API: serve it, manage API keys."),
    "airflow": Verb("airflow", "app", "Prepare Airflow for the WeatherInsight DAGs (pools, connection)."),
    "db": Verb("db", "app", "the curated database's schema"),
}


def load_verb(name: str) -> Any:
    """The click command of verb ``name``, built from its module (imported now)."""
    verb = VERBS[name]
    target = getattr(importlib.import_module(f"weatherinsight.cli.{verb.module}"), verb.attr)
    if isinstance(target, typer.Typer):
        command: Any = typer.main.get_group(target)
    else:
        single = typer.Typer()
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyVerbs(TyperGroup):
    """The top-level group: lists :data:`VERBS` and imports a verb's module only when that verb is invoked.

    While the group's own help is drawn, verbs are stand-ins carrying their one-line help, so ``--help``
    imports no verb module.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loaded: dict[str, Any] = {}
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(VERBS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in VERBS:
            return None
        if self._listing:
            return typer.core.TyperCommand(cmd_name, short_help=VERBS[cmd_name].short_help)
        if cmd_name not in self._loaded:
            self._loaded[cmd_name] = load_verb(cmd_name)
        return self._loaded[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="weatherinsight",
    cls=LazyVerbs,
    help="DWD hourly station observations → staged Parquet → quarterly climate features.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    # A callback makes the app a group even though its verbs are not registered with Typer (LazyVerbs lists them).
    pass


def main() -> None:
    """Console entry point: typed errors become a one-line message and exit code 2."""
    try:
        app()
    except WeatherInsightError as exc:
        from weatherinsight.cli._common import exit_on_error  # the console and settings only on this path

        exit_on_error(exc)
