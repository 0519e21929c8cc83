#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer where the stack expects them
# (PGHOST:PGPORT, default 127.0.0.1:5432; REDIS_HOST, default 127.0.0.1:6379).
# Shared by `make run`, `make test` and .ci/run. For each server that does not
# answer on a local address it:
#   1. installs the Debian package when the server binaries are missing and we
#      are root on Debian (apt-get), then
#   2. starts a private instance under the run folder ($RUN_DIR, default .run),
# and otherwise says exactly what to do and exits non-zero.
# `deps.sh browser` installs what the browser tests drive (Chromium,
# playwright-core); `deps.sh observe` installs Prometheus (make observe). `deps.sh stop` stops the private instances it started
# (make run does this on exit), and leaves any other server alone.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
setting() { # name default: the environment, else .env (as make run reads it), else default
  local v="${!1:-}"
  [[ -z "$v" && -f "$root/.env" ]] && v="$(sed -n "s/^$1=//p" "$root/.env" | tail -n 1)"
  echo "${v:-$2}"
}
run_dir_setting="$(setting RUN_DIR "$root/.run")"
run_dir="$(mkdir -p "$run_dir_setting" && cd "$run_dir_setting" && pwd)"
pg_host="$(setting PGHOST 127.0.0.1)"
pg_port="$(setting PGPORT 5432)"
redis_addr="$(setting REDIS_HOST 127.0.0.1:6379)"
redis_host="${redis_addr%:*}"
redis_port="${redis_addr##*:}"

answers() { # host port: does a TCP connect succeed?
  timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}
is_local() { [[ "$1" == 127.0.0.1 || "$1" == localhost || "$1" == ::1 ]]; }
can_apt() { [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; }
wait_for() { # name host port
  for _ in $(seq 1 100); do answers "$2" "$3" && return 0; sleep 0.2; done
  echo "deps: $1 did not come up on $2:$3" >&2; return 1
}
apt_updated=
apt_install() {
  [[ -n "$apt_updated" ]] || { apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

ensure_postgres() {
  answers "$pg_host" "$pg_port" && return 0
  if ! is_local "$pg_host"; then
    echo "deps: PostgreSQL does not answer at $pg_host:$pg_port; start it or set PGHOST/PGPORT" >&2; return 1
  fi
  if [[ -z "$(pg_bindir)" ]]; then
    if can_apt; then
      echo "deps: installing PostgreSQL (apt-get install postgresql)"
      apt_install postgresql postgresql-client
    else
      echo "deps: PostgreSQL is not installed. Install it (Debian: sudo apt-get install postgresql) or start one on $pg_host:$pg_port" >&2; return 1
    fi
  fi
  answers "$pg_host" "$pg_port" && return 0 # the package may have started one
  local bindir data owner
  bindir="$(pg_bindir)"; data="$run_dir/postgres"; owner="$(id -un)"
  # PostgreSQL refuses to run as root; use the postgres account then.
  local as=()
  if [[ $(id -u) -eq 0 ]]; then owner=postgres; as=(runuser -u postgres --); fi
  mkdir -p "$data"; chown "$owner" "$data"; chmod 700 "$data"
  if [[ ! -f "$data/PG_VERSION" ]]; then
    "${as[@]}" "$bindir/initdb" -D "$data" -U postgres --auth=trust >/dev/null
  fi
  echo "deps: starting a private PostgreSQL on $pg_host:$pg_port (data in $data)"
  "${as[@]}" "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -o "-p $pg_port -k $data -c listen_addresses=127.0.0.1" start >/dev/null
  wait_for PostgreSQL "$pg_host" "$pg_port"
}

ensure_redis() {
  answers "$redis_host" "$redis_port" && return 0
  if ! is_local "$redis_host"; then
    echo "deps: Redis does not answer at $redis_addr; start it or set REDIS_HOST" >&2; return 1
  fi
  if ! command -v redis-server >/dev/null; then
    if can_apt; then
      echo "deps: installing Redis (apt-get install redis-server)"
      apt_install redis-server
    else
      echo "deps: Redis is not installed. Install it (Debian: sudo apt-get install redis-server) or start one on $redis_addr" >&2; return 1
    fi
  fi
  answers "$redis_host" "$redis_port" && return 0
  mkdir -p "$run_dir/redis"
  echo "deps: starting a private Redis on $redis_addr (files in $run_dir/redis)"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
    --dir "$run_dir/redis" --logfile "$run_dir/redis/redis.log" --pidfile "$run_dir/redis/redis.pid"
  wait_for Redis "$redis_host" "$redis_port"
}

# The browser tests' Chromium (Debian's package) and playwright-core (npm,
# pinned by tests/browser/package-lock.json).
ensure_browser() {
  if [[ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]]; then
    if can_apt; then
      echo "deps: installing Chromium (apt-get install chromium), for the browser tests"
      apt_install chromium
    else
      echo "deps: Chromium is missing. Install it (Debian: sudo apt-get install chromium) or set CHROMIUM" >&2; return 1
    fi
  fi
  if [[ ! -d "$root/tests/browser/node_modules/playwright-core" ]]; then
    if ! command -v npm >/dev/null; then
      if can_apt; then apt_install nodejs npm; else echo "deps: npm is missing (Debian: sudo apt-get install npm)" >&2; return 1; fi
    fi
    echo "deps: installing playwright-core (npm ci in tests/browser)"
    (cd "$root/tests/browser" && npm ci --no-audit --no-fund --silent)
  fi
}

# make observe's Prometheus: Debian's package (its console libraries
# included), not started as a service.
ensure_prometheus() {
  command -v prometheus >/dev/null && [[ -d /usr/share/doc/prometheus/examples/console_libraries ]] && return 0
  if can_apt; then
    echo "deps: installing Prometheus (apt-get install prometheus), for make observe and its test"
    apt_install prometheus
  else
    echo "deps: Prometheus is missing. Install it (Debian: sudo apt-get install prometheus)" >&2; return 1
  fi
}

stop_private() {
  local data="$run_dir/postgres"
  if [[ -f "$data/postmaster.pid" ]]; then
    local as=()
    [[ $(id -u) -eq 0 ]] && as=(runuser -u postgres --)
    "${as[@]}" "$(pg_bindir)/pg_ctl" -D "$data" -m fast -w stop >/dev/null && echo "deps: stopped the private PostgreSQL"
  fi
  if [[ -f "$run_dir/redis/redis.pid" ]]; then
    kill "$(cat "$run_dir/redis/redis.pid")" 2>/dev/null && echo "deps: stopped the private Redis"
    rm -f "$run_dir/redis/redis.pid"
  fi
  return 0
}

case "${1:-start}" in
  start) ensure_postgres; ensure_redis ;;
  browser) ensure_browser ;;
  observe) ensure_prometheus ;;
  stop) stop_private ;;
  *) echo "usage: deps.sh [start|browser|observe|stop]" >&2; exit 2 ;;
esac
