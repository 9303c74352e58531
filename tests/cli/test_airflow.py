"""``weatherinsight airflow init`` on a fresh Airflow metadata database, and the parse-time pool warning.

A throw-away AIRFLOW_HOME (SQLite metadata database, ``airflow db migrate``); everything runs as the
operator runs it: subprocesses of the venv's ``airflow`` and ``weatherinsight`` commands.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.airflow import DAGS_DIR
from tests.fixtures.core import make_settings, settings_env

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.xdist_group("airflow")]

BIN = Path(sys.executable).parent

#: Parses the DAG folder the way the dag-processor does (a DagBag) and exits.
_PARSE = "import sys; from airflow.dag_processing.dagbag import DagBag; DagBag(dag_folder=sys.argv[1])"


def _run(env: dict[str, str], *cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), env=env, capture_output=True, text=True, timeout=600, check=False)


def test_init_creates_pools_and_connection_idempotently_and_parsing_warns_until_then(
    tmp_path: Path, pg_url: str
) -> None:
    home = tmp_path / "airflow-home"
    settings = make_settings(tmp_path / "data", database_url=pg_url, pools={"spark_jobs": 2, "api_calls": 4})
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "WEATHERINSIGHT_"))},
        **settings_env(settings),
        "WEATHERINSIGHT_LOG_LEVEL": "INFO",
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }
    home.mkdir()
    migrate = _run(env, str(BIN / "airflow"), "db", "migrate")
    assert migrate.returncode == 0, migrate.stderr[-2000:]

    before = _run(env, sys.executable, "-c", _PARSE, str(DAGS_DIR))
    assert before.returncode == 0, before.stderr[-2000:]
    out = before.stdout + before.stderr
    assert "weatherinsight_pools_missing" in out
    assert "['api_calls', 'spark_jobs']" in out and "weatherinsight airflow init" in out

    for _ in range(2):  # idempotent: the second run changes nothing and does not fail
        init = _run(env, str(BIN / "weatherinsight"), "airflow", "init")
        assert init.returncode == 0, init.stderr[-2000:]
        assert "spark_jobs" in init.stdout and "2 slots" in init.stdout and "4 slots" in init.stdout
        assert "weatherinsight_postgres" in init.stdout

    pools = json.loads(_run(env, str(BIN / "airflow"), "pools", "list", "-o", "json").stdout)
    assert {p["pool"]: int(p["slots"]) for p in pools if p["pool"] != "default_pool"} == {
        "spark_jobs": 2,
        "api_calls": 4,
    }
    conn = json.loads(
        _run(env, str(BIN / "airflow"), "connections", "get", "weatherinsight_postgres", "-o", "json").stdout
    )
    (c,) = conn
    assert (c["conn_type"], c["host"], int(c["port"]), c["schema"]) == (
        "postgres",
        "127.0.0.1",
        5432,
        pg_url.rsplit("/", 1)[1],
    )

    after = _run(env, sys.executable, "-c", _PARSE, str(DAGS_DIR))
    assert after.returncode == 0
    assert "weatherinsight_pools_missing" not in after.stdout + after.stderr


def test_init_without_airflow_is_one_clear_error(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "WEATHERINSIGHT_"))},
        **settings_env(settings),
    }
    proc = _run(
        env, str(BIN / "weatherinsight"), "airflow", "init", "--airflow-bin", str(tmp_path / "no-airflow")
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "no-airflow" in proc.stderr
