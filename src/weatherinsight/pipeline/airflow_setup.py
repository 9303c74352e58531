"""Preparing an Airflow installation for the DAGs: the pools and the ``weatherinsight_postgres`` connection.

Everything goes through the ``airflow`` command (``pools import``, ``connections import --overwrite``), so
it is idempotent, never imports Airflow into the caller and works on any Airflow whose environment
(``AIRFLOW_HOME`` / ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``) is given. ``weatherinsight airflow init`` and
deploy/airflow/airflow-init.sh call ``ensure_pools`` and ``ensure_connection``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from weatherinsight.errors import ConfigError, RunFailedError
from weatherinsight.logs import get_logger
from weatherinsight.settings import Settings

log = get_logger(__name__)

#: The Airflow connection the quality DAG reads the curated database from, when it is defined
#: (``AIRFLOW_CONN_WEATHERINSIGHT_POSTGRES`` or the connections store, as ``airflow init`` creates it).
QUALITY_CONN_ID = "weatherinsight_postgres"


def pool_specs(settings: Settings) -> dict[str, dict[str, Any]]:
    """The Airflow pools the DAGs use, with slots from the YAML (``airflow pools import`` format)."""
    pools = settings.pools
    return {
        "spark_jobs": {
            "slots": pools.spark_jobs,
            "description": "WeatherInsight processing and aggregation (CPU/memory heavy)",
            "include_deferred": False,
        },
        "api_calls": {
            "slots": pools.api_calls,
            "description": "WeatherInsight ingestion (requests to the DWD server)",
            "include_deferred": False,
        },
    }


def connection_spec(settings: Settings) -> dict[str, Any] | None:
    """The ``weatherinsight_postgres`` connection (``connections import`` format) from ``database_url``.

    ``None`` when the database is not PostgreSQL (the embedded SQLite default): the tasks then read
    ``WEATHERINSIGHT_DATABASE_URL`` directly.
    """
    url = make_url(settings.database_url)
    if not url.drivername.startswith("postgresql"):
        return None
    return {
        QUALITY_CONN_ID: {
            "conn_type": "postgres",
            "host": url.host or "127.0.0.1",
            "port": url.port or 5432,
            "schema": url.database or "",
            "login": url.username or "",
            "password": url.password or "",
            "description": "WeatherInsight warehouse (weatherinsight airflow init)",
        }
    }


def _airflow(args: list[str], *, airflow_bin: str | None, env: Mapping[str, str] | None) -> str:
    # The airflow of this interpreter's environment first (uv run, a venv), then the one on PATH.
    beside = Path(sys.executable).parent / "airflow"
    exe = airflow_bin or (str(beside) if beside.exists() else shutil.which("airflow"))
    if exe is None:
        raise ConfigError("airflow", "the `airflow` command is not on PATH", source="airflow init")
    if shutil.which(exe) is None:
        raise ConfigError("--airflow-bin", f"{exe} is not an executable file", source="airflow init")
    proc = subprocess.run(
        [exe, *args], capture_output=True, text=True, env=dict(env) if env is not None else None, check=False
    )
    if proc.returncode != 0:
        raise RunFailedError(
            f"`airflow {' '.join(args[:2])}` failed ({proc.returncode}): {proc.stderr.strip()[-500:]}",
            hint="check AIRFLOW_HOME and that `airflow db migrate` ran",
        )
    return proc.stdout


def _import_file(kind: str, payload: Mapping[str, Any], extra: list[str], **kw: Any) -> None:
    # A private temporary file, not CLI arguments: the database password never shows in `ps`.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{kind}.json"
        path.touch(mode=0o600)
        path.write_text(json.dumps(payload))
        _airflow([kind, "import", str(path), *extra], **kw)


def ensure_pools(
    settings: Settings, *, airflow_bin: str | None = None, env: Mapping[str, str] | None = None
) -> dict[str, int]:
    """Create or update the pools from the YAML (idempotent). Returns pool name → slots."""
    specs = pool_specs(settings)
    _import_file("pools", specs, [], airflow_bin=airflow_bin, env=env)
    slots = {k: int(v["slots"]) for k, v in specs.items()}
    log.info("pools_ensured", pools=slots)
    return slots


def ensure_connection(
    settings: Settings, *, airflow_bin: str | None = None, env: Mapping[str, str] | None = None
) -> str | None:
    """Create or replace the ``weatherinsight_postgres`` connection from settings (idempotent).

    Returns the connection's URL without password, or ``None`` when the database is not PostgreSQL.
    """
    spec = connection_spec(settings)
    if spec is None:
        log.info("connection_skipped", conn_id=QUALITY_CONN_ID, reason="database is not PostgreSQL")
        return None
    _import_file("connections", spec, ["--overwrite"], airflow_bin=airflow_bin, env=env)
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    log.info("connection_ensured", conn_id=QUALITY_CONN_ID, database=shown)
    return shown


def missing_pools(settings: Settings, existing: set[str]) -> list[str]:
    """The pools the DAGs need that are not among ``existing``, sorted."""
    return sorted(set(pool_specs(settings)) - existing)
