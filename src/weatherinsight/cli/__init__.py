"""The ``weatherinsight`` command: one Typer app, one module per verb under ``weatherinsight.cli``.

Verbs: ingest, stage (+ its alias process), aggregate, run, backfill, check, stations, features, mirror, api, airflow, db. Each verb module owns its
options and calls the package (``weatherinsight.pipeline`` and the services); no business logic lives here.
"""

from __future__ import annotations

import typer

from weatherinsight.cli import (
    aggregate,
    airflow,
    api,
    check,
    db,
    features,
    ingest,
    mirror,
    orchestrate,
    stage,
    stations,
)
from weatherinsight.cli._common import exit_on_error
from weatherinsight.errors import WeatherInsightError

app = typer.Typer(
    name="weatherinsight",
    help="DWD hourly station observations → staged Parquet → quarterly climate features.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("ingest")(ingest.ingest)
app.command("process")(stage.process)
app.command("stage")(stage.stage)
app.command("aggregate")(aggregate.aggregate)
app.command("run")(orchestrate.run)
app.command("backfill")(orchestrate.backfill)
app.command("check")(check.check)
app.command("stations")(stations.stations)
app.command("features")(features.features)
app.add_typer(mirror.app, name="mirror")
app.add_typer(api.app, name="api")
app.add_typer(airflow.app, name="airflow")
app.add_typer(db.app, name="db")


def main() -> None:
    """Console entry point: typed errors become a one-line message and exit code 2."""
    try:
        app()
    except WeatherInsightError as exc:
        exit_on_error(exc)
