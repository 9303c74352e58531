#!/usr/bin/env bash
# airflow-init: one-shot bootstrap of the compose stack, safe to run again (every step is idempotent).
#   1. migrate the Airflow metadata database            (airflow db migrate)
#   2. the admin user of the Airflow UI                 (SimpleAuthManager passwords file, from env)
#   3. the pools named in src/weatherinsight/config/weatherinsight.yaml    (weatherinsight.pipeline.airflow_tasks.ensure_pools)
#   4. the `weatherinsight_postgres` connection         (airflow connections import --overwrite, from env)
#   5. the WeatherInsight warehouse schema              (Alembic upgrade head)
# No manual UI step is needed afterwards. Every input comes from the environment (deploy/.env):
#   AIRFLOW_ADMIN_USERNAME, AIRFLOW_ADMIN_PASSWORD, AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE,
#   WEATHERINSIGHT_DB_HOST, WEATHERINSIGHT_DB_PORT, WEATHERINSIGHT_DB_NAME, WEATHERINSIGHT_DB_USER,
#   WEATHERINSIGHT_DB_PASSWORD, and the usual AIRFLOW__* / WEATHERINSIGHT_* settings.
set -euo pipefail

: "${AIRFLOW_ADMIN_USERNAME:?set AIRFLOW_ADMIN_USERNAME in deploy/.env}"
: "${AIRFLOW_ADMIN_PASSWORD:?set AIRFLOW_ADMIN_PASSWORD in deploy/.env}"
: "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:?must point at a file on the shared config volume}"
: "${WEATHERINSIGHT_DB_HOST:?}" "${WEATHERINSIGHT_DB_NAME:?}" "${WEATHERINSIGHT_DB_USER:?}"
: "${WEATHERINSIGHT_DB_PASSWORD:?set WEATHERINSIGHT_DB_PASSWORD in deploy/.env}"
WEATHERINSIGHT_DB_PORT="${WEATHERINSIGHT_DB_PORT:-5432}"

step() { echo "airflow-init [$1/5] $2"; }

step 1 "migrating the Airflow metadata database"
airflow db migrate

step 2 "admin user '${AIRFLOW_ADMIN_USERNAME}' (password from AIRFLOW_ADMIN_PASSWORD)"
# SimpleAuthManager reads user passwords from this JSON file; writing it here means the api-server never
# generates (and prints) a random password. The file is private to the Airflow user.
python - <<'PY'
import json
import os
from pathlib import Path

path = Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
path.parent.mkdir(parents=True, exist_ok=True)
passwords = json.loads(path.read_text() or "{}") if path.exists() else {}
passwords[os.environ["AIRFLOW_ADMIN_USERNAME"]] = os.environ["AIRFLOW_ADMIN_PASSWORD"]
tmp = path.with_name(path.name + ".tmp")
tmp.write_text(json.dumps(passwords) + "\n")
tmp.chmod(0o600)
tmp.replace(path)
PY

step 3 "pools from ${WEATHERINSIGHT_CONFIG_FILE:-the packaged weatherinsight/config/weatherinsight.yaml} and the weatherinsight_postgres connection"
# Pools: the package's ensure_pools (`airflow pools import` of airflow_tasks.pool_specs), so the YAML and that one
# function are the single source (the same call the tests exercise).
python - <<'PY'
from weatherinsight.pipeline.airflow_tasks import ensure_pools, pool_specs
from weatherinsight.settings import load_settings

settings = load_settings()
ensure_pools(settings)
print("pools: " + ", ".join(f"{name}={spec['slots']}" for name, spec in pool_specs(settings).items()))
PY
# The connection goes through an import file (not CLI arguments) so the database password never shows in `ps`.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python - "$work" <<'PY'
import json
import os
import sys
from pathlib import Path

conn = Path(sys.argv[1]) / "connections.json"
conn.touch(mode=0o600)
conn.write_text(
    json.dumps(
        {
            "weatherinsight_postgres": {
                "conn_type": "postgres",
                "host": os.environ["WEATHERINSIGHT_DB_HOST"],
                "port": int(os.environ.get("WEATHERINSIGHT_DB_PORT") or 5432),
                "schema": os.environ["WEATHERINSIGHT_DB_NAME"],
                "login": os.environ["WEATHERINSIGHT_DB_USER"],
                "password": os.environ["WEATHERINSIGHT_DB_PASSWORD"],
                "description": "WeatherInsight curated database (deploy/.env)",
            }
        }
    )
)
PY

step 4 "connection weatherinsight_postgres -> ${WEATHERINSIGHT_DB_USER}@${WEATHERINSIGHT_DB_HOST}:${WEATHERINSIGHT_DB_PORT}/${WEATHERINSIGHT_DB_NAME}"
# --overwrite: a re-run picks up a changed password or host from .env.
airflow connections import --overwrite "$work/connections.json"

step 5 "WeatherInsight warehouse schema (alembic upgrade head)"
python -c "from weatherinsight.settings import load_settings; from weatherinsight.warehouse.db import ensure_schema; ensure_schema(load_settings().database_url)"
echo "airflow-init: done"
