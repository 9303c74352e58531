"""CLI group ``weatherinsight airflow``: prepare an Airflow installation for the WeatherInsight DAGs.

``weatherinsight airflow init`` creates or updates the pools from the YAML (``pools.spark_jobs``,
``pools.api_calls``) and the ``weatherinsight_postgres`` connection from ``WEATHERINSIGHT_DATABASE_URL``
(PostgreSQL only), through the ``airflow`` command of the environment (``AIRFLOW_HOME``,
``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``). Safe to run again; run it after ``airflow db migrate``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from weatherinsight.cli._common import console, settings_from_env

app = typer.Typer(
    help="Prepare Airflow for the WeatherInsight DAGs (pools, connection).", no_args_is_help=True
)


@app.command("init")
def init(
    airflow_bin: Annotated[
        str | None, typer.Option("--airflow-bin", help="the airflow command; default: the one on PATH")
    ] = None,
) -> None:
    """Create or update the pools and the weatherinsight_postgres connection (idempotent)."""
    from weatherinsight.pipeline import airflow_setup  # SQLAlchemy (the connection URL): only when it runs

    settings = settings_from_env()
    pools = airflow_setup.ensure_pools(settings, airflow_bin=airflow_bin)
    conn = airflow_setup.ensure_connection(settings, airflow_bin=airflow_bin)
    table = Table(title="Airflow prepared for WeatherInsight")
    table.add_column("object")
    table.add_column("name")
    table.add_column("value")
    for name, slots in pools.items():
        table.add_row("pool", name, f"{slots} slots")
    table.add_row(
        "connection",
        airflow_setup.QUALITY_CONN_ID,
        conn or "not created: the database is not PostgreSQL (tasks use WEATHERINSIGHT_DATABASE_URL)",
    )
    console.print(table)
