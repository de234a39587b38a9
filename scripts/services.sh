#!/usr/bin/env bash
# Make sure the test suite's real services are reachable: PostgreSQL on 127.0.0.1:5432 (user
# postgres, trust auth) and Redis on 127.0.0.1:6379, plus Debian's chromium for browser tests.
# Starts what is installed but stopped; installs what is missing (needs root and apt).
set -euo pipefail

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v pg_ctlcluster >/dev/null || need_apt+=(postgresql)
command -v chromium >/dev/null || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting redis-server"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting postgresql"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
fi

for _ in $(seq 1 60); do
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432
  then
    if ! psql -h 127.0.0.1 -U postgres -tAc 'select 1' >/dev/null 2>&1; then
      echo "PostgreSQL runs but user postgres cannot log in over TCP with trust auth" >&2
      exit 1
    fi
    echo "services: postgresql and redis are up"
    exit 0
  fi
  sleep 1
done
echo "services did not come up: check PostgreSQL on 127.0.0.1:5432 and Redis on :6379" >&2
exit 1
