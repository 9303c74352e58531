#!/usr/bin/env bash
# Make the real services and tools the test suite uses available: PostgreSQL running on 127.0.0.1:5432,
# Java for Spark local mode, docker-compose (compose validation), promtool + prometheus and node-exporter
# (deploy tests check the Prometheus config and scrape the pipeline's metrics textfile for real), headless
# Chromium for the browser tests.
set -euo pipefail

need_apt=()
command -v docker-compose >/dev/null 2>&1 || need_apt+=(docker-compose)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
command -v prometheus-node-exporter >/dev/null 2>&1 || need_apt+=(prometheus-node-exporter)
command -v java >/dev/null 2>&1 || need_apt+=(default-jre-headless)
command -v pg_ctlcluster >/dev/null 2>&1 || need_apt+=(postgresql)
# Redis for the API's shared rate limits (tests/reliability/test_rate_limit.py).
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# Headless Chromium for the browser tests (/docs offline, the explorer): Debian's build, never a download.
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium fonts-dejavu-core)
# node + npm rebuild the explorer's map outline from its lock file (tests/explorer/test_assets_build.py).
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
if ((${#need_apt[@]})); then
  echo "installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

pg_ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
if ! pg_ready; then
  ver=$(ls /etc/postgresql | sort -V | tail -1)
  echo "starting PostgreSQL $ver/main"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
fi
pg_ready && echo "PostgreSQL is up on 127.0.0.1:5432" || { echo "PostgreSQL is NOT reachable on 127.0.0.1:5432" >&2; exit 1; }
redis_ready() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
if ! redis_ready; then
  echo "starting Redis on 127.0.0.1:6379"
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save "" --appendonly no >/dev/null
  for _ in $(seq 1 20); do redis_ready && break; sleep 0.5; done
fi
redis_ready && echo "Redis is up on 127.0.0.1:6379" || { echo "Redis is NOT reachable on 127.0.0.1:6379" >&2; exit 1; }
echo "Java: $(java -version 2>&1 | head -1)"
