#!/usr/bin/env bash
# Starts target/release/hookline (data in ./data unless HOOKLINE_DATABASE_URL says otherwise),
# waits until it is healthy, then says which URL to open and what to do there first.
# Ctrl-C (or SIGTERM) stops the server gracefully.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

addr="${HOOKLINE_ADDR:-127.0.0.1:3000}"
host="${addr%:*}"
port="${addr##*:}"
# A wildcard listen address is reached through loopback from this machine.
case "$host" in 0.0.0.0 | "[::]" | "") host=127.0.0.1 ;; esac
base="${HOOKLINE_PUBLIC_URL:-http://$host:$port}"
base="${base%/}"
mkdir -p data

# PostgreSQL needs HOOKLINE_ENCRYPTION_KEY (several instances must share it; the server keeps no key
# file for it). For a first run, make one and keep it in data/, and say so.
where="${HOOKLINE_DATABASE_URL:-./data}"
if [[ "${HOOKLINE_DATABASE_URL:-}" == postgres* ]]; then
  where="PostgreSQL"
  if [[ -z "${HOOKLINE_ENCRYPTION_KEY:-}" ]]; then
    keyfile=data/postgres-encryption.key
    if [[ ! -s "$keyfile" ]]; then
      (umask 077 && target/release/hookline keys generate >"$keyfile.new" 2>/dev/null && mv "$keyfile.new" "$keyfile")
      echo "HOOKLINE_ENCRYPTION_KEY was not set: generated one into $keyfile. Back it up; give every instance on this database the same key." >&2
    fi
    HOOKLINE_ENCRYPTION_KEY="$(cat "$keyfile")"
    export HOOKLINE_ENCRYPTION_KEY
    where="PostgreSQL, its encryption key in $keyfile"
  fi
fi

target/release/hookline serve &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true' INT TERM

# http_status PATH -> the status code of a GET (000 when nothing answers)
http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$host:$port$1" 2>/dev/null || true; }

healthy=0
for _ in $(seq 1 300); do
  kill -0 "$server" 2>/dev/null || break
  if [[ "$(http_status /healthz)" == 200 ]]; then healthy=1; break; fi
  sleep 0.2
done

if [[ $healthy -eq 1 ]]; then
  # /setup answers 200 only while no admin exists; afterwards it redirects to the sign-in page.
  if [[ "$(http_status /setup)" == 200 ]]; then
    first="Open $base/setup and create the first admin (or set HOOKLINE_ADMIN_EMAIL and HOOKLINE_ADMIN_PASSWORD before starting)."
  elif [[ -n "${HOOKLINE_ADMIN_EMAIL:-}" ]]; then
    first="Open $base/login and sign in as $HOOKLINE_ADMIN_EMAIL."
  else
    first="Open $base/login and sign in with your admin account."
  fi
  printf '\n\033[1;32mHookline is running at %s\033[0m (data in %s; Ctrl-C stops it).\n%s\n\n' \
    "$base" "$where" "$first"
else
  echo "Hookline did not become healthy; see its log above." >&2
fi

status=0
wait "$server" || status=$?
# A signal interrupts the first wait; wait again for the graceful shutdown to finish.
kill -0 "$server" 2>/dev/null && { wait "$server" || status=$?; }
exit "$status"
