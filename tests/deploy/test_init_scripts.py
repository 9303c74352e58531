"""The stack's bootstrap scripts, run for real: the Postgres init SQL (psql) and airflow-init (Airflow CLI)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from tests.conftest import REPO, require
from tests.deploy.conftest import DEPLOY

INIT_SQL = DEPLOY / "postgres" / "init-databases.sql"
AIRFLOW_INIT = DEPLOY / "airflow" / "airflow-init.sh"


@pytest.fixture
def init_names(pg_server: str) -> Iterator[dict[str, str]]:
    """Unique database/role names for one run of the init SQL; everything is dropped afterwards."""
    tag = uuid.uuid4().hex[:8]
    names = {
        "WEATHERINSIGHT_DB_NAME": f"wi_init_{tag}",
        "WEATHERINSIGHT_DB_USER": f"wi_user_{tag}",
        "WEATHERINSIGHT_DB_PASSWORD": "pa'ss wo\"rd",  # quoting must survive
        "AIRFLOW_DB_NAME": f"af_init_{tag}",
        "AIRFLOW_DB_USER": f"af_user_{tag}",
        "AIRFLOW_DB_PASSWORD": "airflow-pw",
    }
    yield names
    with psycopg.connect(pg_server, autocommit=True) as conn:
        for db in (names["WEATHERINSIGHT_DB_NAME"], names["AIRFLOW_DB_NAME"]):
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        for role in (names["WEATHERINSIGHT_DB_USER"], names["AIRFLOW_DB_USER"]):
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.mark.postgres
def test_init_sql_creates_two_databases_owned_by_their_roles(
    pg_server: str, init_names: dict[str, str]
) -> None:
    psql = shutil.which("psql")
    require(psql is not None, "psql (postgresql-client) not installed")
    assert psql is not None
    proc = subprocess.run(
        [psql, pg_server, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(INIT_SQL)],
        env={**os.environ, **init_names},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    with psycopg.connect(pg_server) as conn:
        rows = conn.execute(
            "SELECT datname, pg_get_userbyid(datdba), has_database_privilege('public', oid, 'CONNECT') "
            "FROM pg_database WHERE datname IN (%s, %s) ORDER BY datname",
            (init_names["AIRFLOW_DB_NAME"], init_names["WEATHERINSIGHT_DB_NAME"]),
        ).fetchall()
        assert rows == [
            (init_names["AIRFLOW_DB_NAME"], init_names["AIRFLOW_DB_USER"], False),
            (init_names["WEATHERINSIGHT_DB_NAME"], init_names["WEATHERINSIGHT_DB_USER"], False),
        ]
        roles = conn.execute(
            "SELECT rolname, rolcanlogin, rolsuper, rolpassword IS NOT NULL FROM pg_authid "
            "WHERE rolname IN (%s, %s) ORDER BY rolname",
            (init_names["AIRFLOW_DB_USER"], init_names["WEATHERINSIGHT_DB_USER"]),
        ).fetchall()
        assert roles == [
            (init_names["AIRFLOW_DB_USER"], True, False, True),
            (init_names["WEATHERINSIGHT_DB_USER"], True, False, True),
        ]
        # each role may connect to its own database and not to the other one
        priv = conn.execute(
            "SELECT has_database_privilege(%s, %s, 'CONNECT'), has_database_privilege(%s, %s, 'CONNECT')",
            (
                init_names["WEATHERINSIGHT_DB_USER"],
                init_names["WEATHERINSIGHT_DB_NAME"],
                init_names["WEATHERINSIGHT_DB_USER"],
                init_names["AIRFLOW_DB_NAME"],
            ),
        ).fetchone()
        assert priv == (True, False)


@pytest.mark.airflow
@pytest.mark.postgres
@pytest.mark.slow
def test_airflow_init_bootstraps_pools_connection_admin_and_schema(tmp_path: Path, pg_url: str) -> None:
    """airflow-init against a throw-away AIRFLOW_HOME (SQLite metadata) and a real PostgreSQL warehouse."""
    home = tmp_path / "airflow"
    url = sa.make_url(pg_url).set(password="db-secret-value")
    passwords = home / "config" / "simple_auth_manager_passwords.json"
    bin_dir = Path(sys.executable).parent
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "no-dags"),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW_ADMIN_USERNAME": "ops-admin",
        "AIRFLOW_ADMIN_PASSWORD": "a-long-admin-secret",
        "WEATHERINSIGHT_DATA_DIR": str(tmp_path / "data"),
        # As the compose file builds it from WEATHERINSIGHT_DB_*; the local server trusts, ignoring the password.
        "WEATHERINSIGHT_DATABASE_URL": url.render_as_string(hide_password=False),
        "WEATHERINSIGHT_CONFIG_FILE": str(REPO / "src" / "weatherinsight" / "config" / "weatherinsight.yaml"),
    }
    for _ in range(2):  # idempotent: a second run must succeed and change nothing
        proc = subprocess.run(
            ["bash", str(AIRFLOW_INIT)], env=env, capture_output=True, text=True, timeout=400, check=False
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert "airflow-init: done" in proc.stdout
        assert "db-secret-value" not in proc.stdout + proc.stderr  # never echoed

    assert json.loads(passwords.read_text()) == {"ops-admin": "a-long-admin-secret"}
    assert passwords.stat().st_mode & 0o777 == 0o600

    meta = sa.create_engine(f"sqlite:///{home / 'airflow.db'}")
    with meta.connect() as conn:
        pools = dict(conn.execute(sa.text("SELECT pool, slots FROM slot_pool")).all())
        conns = conn.execute(
            sa.text("SELECT conn_type, host, port, schema, login FROM connection WHERE conn_id = :c"),
            {"c": "weatherinsight_postgres"},
        ).all()
    assert pools == {"default_pool": 128, "spark_jobs": 3, "api_calls": 5}
    assert conns == [("postgres", url.host, url.port, url.database, url.username)]

    wh = sa.create_engine(pg_url)
    with wh.connect() as conn:
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
        tables = set(sa.inspect(conn).get_table_names())
    wh.dispose()
    assert version
    assert {"dataset_versions", "raw_files", "ingestion_runs"} <= tables
