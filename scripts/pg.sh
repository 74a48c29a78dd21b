#!/usr/bin/env bash
# A throw-away PostgreSQL for tests and benchmarks, from Debian's `postgresql` package (which
# scripts/bootstrap.sh installs): `initdb` into a folder, `pg_ctl start` on a free port of
# 127.0.0.1, no system service touched.
#
#   scripts/pg.sh start DIR [--durable]   prints the server's URL (postgres://hookline@127.0.0.1:PORT/postgres)
#   scripts/pg.sh stop DIR                stops it and deletes DIR
#
# Without --durable the server skips fsync (tests: a crashed test server is thrown away anyway);
# benchmarks pass --durable so commits cost what they cost in production.
set -euo pipefail

bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [[ -x "$dir/initdb" ]] || { echo "PostgreSQL is not installed (run scripts/bootstrap.sh --test)" >&2; exit 1; }
  echo "$dir"
}

# PostgreSQL refuses to run as root: as root, run it as the package's `postgres` user.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cmd="${1:-}"; dir="${2:-}"
[[ -n "$cmd" && -n "$dir" ]] || { echo "usage: $0 start|stop DIR [--durable]" >&2; exit 2; }
bin=$(bindir)
case "$cmd" in
  start)
    durable="${3:-}"
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U hookline --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    port=$(free_port)
    opts="-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 -c shared_buffers=128MB"
    [[ "$durable" == "--durable" ]] || opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    # More server settings for a profiling run, e.g.
    # HOOKLINE_PG_SETTINGS='-c shared_preload_libraries=pg_stat_statements'
    opts="$opts ${HOOKLINE_PG_SETTINGS:-}"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w -t 60 start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    echo "$port" >"$dir/port"
    echo "postgres://hookline@127.0.0.1:$port/postgres"
    ;;
  stop)
    if [[ -d "$dir/data" ]]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop DIR [--durable]" >&2; exit 2 ;;
esac
