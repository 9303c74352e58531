#!/usr/bin/env bash
# make airflow: a local Airflow 3 stack for the WeatherInsight DAGs, on this machine, no Docker.
#   api-server (UI + execution API) + scheduler (LocalExecutor) + dag-processor, metadata database
#   `weatherinsight_airflow` on the machine's PostgreSQL (created if missing), DAGs from ./dags, the embedded
#   WeatherInsight defaults (./data, SQLite) unless WEATHERINSIGHT_* variables say otherwise.
# Prints the UI address and login, then runs until Ctrl-C (which stops all three processes). The Airflow
#   environment of the stack is written to $AIRFLOW_LOCAL_HOME/airflow.env (for the airflow CLI).
# Overrides (environment): AIRFLOW_LOCAL_HOME (./airflow-home), AIRFLOW_LOCAL_PORT (8080),
#   AIRFLOW_LOCAL_PG (postgresql://postgres@127.0.0.1:5432, the server), AIRFLOW_LOCAL_DB (weatherinsight_airflow),
#   AIRFLOW_LOCAL_USER / AIRFLOW_LOCAL_PASSWORD (admin / admin; the UI listens on 127.0.0.1 only).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv_bin="$root/.venv/bin"
[ -x "$venv_bin/airflow" ] || { echo "airflow-local: $venv_bin/airflow is missing; run: make setup" >&2; exit 2; }

home="$(realpath -m "${AIRFLOW_LOCAL_HOME:-$root/airflow-home}")"
port="${AIRFLOW_LOCAL_PORT:-8080}"
pg="${AIRFLOW_LOCAL_PG:-postgresql://postgres@127.0.0.1:5432}"
dbname="${AIRFLOW_LOCAL_DB:-weatherinsight_airflow}"
user="${AIRFLOW_LOCAL_USER:-admin}"
password="${AIRFLOW_LOCAL_PASSWORD:-admin}"
mkdir -p "$home/logs"

export PATH="$venv_bin:$PATH"
export AIRFLOW_HOME="$home"
export AIRFLOW__CORE__DAGS_FOLDER="$root/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="${pg/postgresql:/postgresql+psycopg:}/$dbname"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$port/execution/"
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$port"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="$user:admin"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$home/passwords.json"
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="${AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL:-30}"
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-8}"  # LocalExecutor worker processes
# Task processes talk to the api-server's Execution API; a busy machine answers slower than the default.
export AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT="${AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT:-60}"
# Parsing imports the pipeline (pyarrow, ibis): give a busy machine more than the default 30 s.
export AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT="${AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT:-180}"
export AIRFLOW__DAG_PROCESSOR__DAG_FILE_PROCESSOR_TIMEOUT="${AIRFLOW__DAG_PROCESSOR__DAG_FILE_PROCESSOR_TIMEOUT:-240}"
# One secret for the three processes (task tokens are signed by the api-server, checked by the others).
[ -s "$home/jwt_secret" ] || (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(32))' >"$home/jwt_secret")
AIRFLOW__API_AUTH__JWT_SECRET="$(cat "$home/jwt_secret")"
export AIRFLOW__API_AUTH__JWT_SECRET
# The stack's Airflow environment in one file, for the airflow CLI in another shell (and for the test that
# drives this script, tests/dags/test_real_scheduler.py): set -a; . airflow-home/airflow.env; set +a
(umask 077 && for k in $(compgen -e | grep -E '^AIRFLOW(_HOME$|__)' | sort); do printf '%s=%q\n' "$k" "${!k}"; done >"$home/airflow.env")

echo "airflow-local [1/4] metadata database $dbname on ${pg#*@}"
"$venv_bin/python" - "$pg" "$dbname" <<'PY'
import sys

import psycopg

server, name = sys.argv[1], sys.argv[2]
with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5) as conn:
    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
        conn.execute(f'CREATE DATABASE "{name}"')
        print(f"created database {name}")
PY
(umask 077 && printf '{"%s": "%s"}\n' "$user" "$password" >"$home/passwords.json")

echo "airflow-local [2/4] airflow db migrate"
airflow db migrate >"$home/logs/db-migrate.log" 2>&1 || { tail -30 "$home/logs/db-migrate.log" >&2; exit 1; }

echo "airflow-local [3/4] weatherinsight airflow init (pools, connection)"
weatherinsight airflow init

echo "airflow-local [4/4] starting api-server, scheduler, dag-processor (logs in $home/logs)"
pids=()
stop() {
  trap - INT TERM EXIT
  echo "airflow-local: stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop INT TERM EXIT
airflow api-server --host 127.0.0.1 --port "$port" >"$home/logs/api-server.log" 2>&1 &
pids+=($!)
airflow scheduler >"$home/logs/scheduler.log" 2>&1 &
pids+=($!)
airflow dag-processor >"$home/logs/dag-processor.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 120); do
  if "$venv_bin/python" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" \
      "http://127.0.0.1:$port/api/v2/monitor/health" 2>/dev/null; then
    echo
    echo "Airflow UI: http://127.0.0.1:$port   login: $user / $password"
    echo "DAGs: weatherinsight_quarterly_pipeline, weatherinsight_backfill, weatherinsight_data_quality (paused)"
    echo "airflow CLI in another shell: set -a; . $home/airflow.env; set +a"
    echo "Ctrl-C stops the stack."
    wait -n "${pids[@]}" || true
    echo "airflow-local: a process ended; see $home/logs" >&2
    exit 1
  fi
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "airflow-local: a process died; see $home/logs" >&2; exit 1; }
  done
  sleep 1
done
echo "airflow-local: the api-server did not answer within 120 s; see $home/logs/api-server.log" >&2
exit 1
