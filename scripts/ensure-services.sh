#!/usr/bin/env bash
# Start the real services the test suite uses, if they are not running: PostgreSQL (and check Java for Spark).
set -euo pipefail

pg_ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

if ! pg_ready; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    ver=$(ls /etc/postgresql | sort -V | tail -1)
    echo "starting PostgreSQL $ver/main"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  fi
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
fi
pg_ready && echo "PostgreSQL is up on 127.0.0.1:5432" || { echo "PostgreSQL is NOT reachable on 127.0.0.1:5432" >&2; exit 1; }
command -v java >/dev/null 2>&1 && echo "Java: $(java -version 2>&1 | head -1)" || echo "warning: no java on PATH (Spark tests need it)" >&2
