#!/usr/bin/env bash
# Fuzzes the JSON API against its own contract: validates docs/openapi.json as OpenAPI 3.1
# (openapi-spec-validator), then starts a Hookline binary on a throw-away data folder with an
# admin-scoped token and runs Schemathesis against the document it serves. Every generated case
# must get no 5xx, a documented status, a documented content type and a body matching the schema.
#
#   scripts/schemathesis.sh [BINARY]     default: target/release/hookline
#   HOOKLINE_FUZZ_EXAMPLES=N             cases per operation and phase (default 300: about 7000 cases,
#                                        70 s on 2 cores)
#   HOOKLINE_FUZZ_SEED=N                 reproduce a run (the seed is printed)
#
# The server and Schemathesis run in a network namespace of their own with only loopback: the
# generated webhooks point at arbitrary addresses, and nothing they trigger may leave the machine.
# Needs the virtualenv scripts/bootstrap.sh --test makes (.toolchain/venv), `unshare` and `ip`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BINARY="$(realpath "${1:-target/release/hookline}")"
VENV="$ROOT/.toolchain/venv"
EXAMPLES="${HOOKLINE_FUZZ_EXAMPLES:-300}"
SEED="${HOOKLINE_FUZZ_SEED:-$RANDOM}"
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance

die() { echo "schemathesis.sh: $*" >&2; exit 1; }
[[ -x "$BINARY" ]] || die "no $BINARY: build it first (make build, or cargo build -p hookline)"
[[ -x "$VENV/bin/schemathesis" ]] || die "no $VENV/bin/schemathesis: run scripts/bootstrap.sh --test"

if [[ -z "${HOOKLINE_FUZZ_NETNS:-}" ]]; then
  "$VENV/bin/openapi-spec-validator" docs/openapi.json
  unshare -rn true 2>/dev/null ||
    die "cannot make a network namespace (unshare -rn): user namespaces are off here; run as root, or enable them"
  # -r: also without root (a user namespace); -n: a network namespace with nothing but loopback.
  exec unshare -rn env HOOKLINE_FUZZ_NETNS=1 HOOKLINE_FUZZ_SEED="$SEED" "$0" "$BINARY"
fi

ip link set lo up
# In a fresh namespace every port is free.
ADDR=127.0.0.1:3900
DATA="$(mktemp -d)"
SERVER_PID=
cleanup() {
  [[ -n "$SERVER_PID" ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$DATA"
}
trap cleanup EXIT
export HOOKLINE_DATABASE_URL="sqlite://$DATA/hookline.db" HOOKLINE_ADDR="$ADDR" RUST_LOG="warn,sqlx=warn"
# Retries must not pile up behind the run: a short schedule, and quick failures (no network).
export HOOKLINE_RETRY_SCHEDULE=0s,1s HOOKLINE_CONNECT_TIMEOUT=1s HOOKLINE_REQUEST_TIMEOUT=2s
# Any destination passes the SSRF guard (nothing can leave this namespace anyway), so generated
# webhooks with an address for a host are created, and the operations on them get exercised.
export HOOKLINE_ALLOWED_TARGETS=0.0.0.0/0,::/0

TOKEN="$("$BINARY" token create --name schemathesis --scope admin 2>/dev/null)"
"$BINARY" serve >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  curl -fsS "http://$ADDR/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://$ADDR/healthz" >/dev/null || { cat "$DATA/server.log"; die "the server did not start"; }

# Something to find: a webhook (id 1) and events with deliveries to it, which fail (nothing listens).
api() { curl -fsS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@" >/dev/null; }
api -X POST "http://$ADDR/api/admin/webhooks" -d '{"url": "http://127.0.0.1:9/hook", "events": ["*"]}'
api -X POST "http://$ADDR/api/events" -d '{"events": [{"type": "feature-created", "featureName": "a", "project": "p"}, {"type": "feature-archived", "featureName": "a"}]}'

echo "Schemathesis against $BINARY on $ADDR: checks $CHECKS, $EXAMPLES cases per operation and phase, seed $SEED"
start=$SECONDS
status=0
# From the throw-away folder: Schemathesis keeps a cache (.schemathesis/) in its working directory.
cd "$DATA"
# Not the live stream (GET /api/admin/stream): it stays open for minutes by design, so every case
# would hold a worker until then; server/tests/it/live.rs tests it (auth, notices, limits).
"$VENV/bin/schemathesis" run "http://$ADDR/api/openapi.json" \
  --exclude-path /api/admin/stream \
  --checks "$CHECKS" \
  --header "Authorization: Bearer $TOKEN" \
  --workers 2 \
  --max-examples "$EXAMPLES" \
  --seed "$SEED" \
  --generation-database none \
  --request-timeout 10 \
  --no-color \
  2>&1 | tee "$DATA/schemathesis.log" || status=$?

# "Test cases:" is followed by a line like "7023 generated, 7023 passed".
cases="$(grep -A1 '^Test cases:' "$DATA/schemathesis.log" | tail -1 | sed 's/^ *//')"
echo "Schemathesis: ${cases:-no test cases} in $((SECONDS - start)) s (seed $SEED, exit $status)"
if grep -qE 'panicked|ERROR' "$DATA/server.log"; then
  echo "--- the server logged errors:" >&2
  grep -E -A3 'panicked|ERROR' "$DATA/server.log" | head -60 >&2
  status=1
fi
[[ $status -eq 0 ]] || { echo "--- server log (last 40 lines):" >&2; tail -40 "$DATA/server.log" >&2; }
exit "$status"
