#!/usr/bin/env bash
# airflow-init: one-shot bootstrap of the compose stack, safe to run again (every step is idempotent).
#   1. migrate the Airflow metadata database            (airflow db migrate)
#   2. the admin user of the Airflow UI                 (SimpleAuthManager passwords file, from env)
#   3. the pools of src/weatherinsight/config/weatherinsight.yaml and the `weatherinsight_postgres`
#      connection from WEATHERINSIGHT_DATABASE_URL      (weatherinsight airflow init)
#   4. the WeatherInsight warehouse schema              (Alembic upgrade head)
# No manual UI step is needed afterwards. Every input comes from the environment (deploy/.env):
#   AIRFLOW_ADMIN_USERNAME, AIRFLOW_ADMIN_PASSWORD, AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE,
#   WEATHERINSIGHT_DATABASE_URL (PostgreSQL) and the usual AIRFLOW__* / WEATHERINSIGHT_* settings.
set -euo pipefail

: "${AIRFLOW_ADMIN_USERNAME:?set AIRFLOW_ADMIN_USERNAME in deploy/.env}"
: "${AIRFLOW_ADMIN_PASSWORD:?set AIRFLOW_ADMIN_PASSWORD in deploy/.env}"
: "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:?must point at a file on the shared config volume}"
: "${WEATHERINSIGHT_DATABASE_URL:?the compose file builds it from WEATHERINSIGHT_DB_* in deploy/.env}"

step() { echo "airflow-init [$1/4] $2"; }

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

step 3 "pools and the weatherinsight_postgres connection (weatherinsight airflow init)"
# The package's own init, the one every Airflow uses (docs/orchestrator.md, scripts/airflow-local.sh): pools
# from the YAML, the connection from WEATHERINSIGHT_DATABASE_URL (which the compose file builds from
# WEATHERINSIGHT_DB_*), imported from a private file so the password never shows in `ps`; idempotent.
weatherinsight airflow init

step 4 "WeatherInsight warehouse schema (alembic upgrade head)"
python -c "from weatherinsight.settings import load_settings; from weatherinsight.warehouse.db import ensure_schema; ensure_schema(load_settings().database_url)"
echo "airflow-init: done"
