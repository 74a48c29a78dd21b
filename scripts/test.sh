#!/usr/bin/env bash
# Runs Hookline's checks: `scripts/test.sh all|fast|lint|e2e|api|scripts|postgres`. Expects the tools that
# scripts/bootstrap.sh installs (the Makefile runs it first).
#
# `all` tests the artifact `make run` serves: the release site, then `cargo test --release` (which
# builds target/release/hookline with the site embedded, sharing every compiled dependency with
# `make build`), then the browser tests against that binary copied alone into an empty folder.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
what="${1:-all}"
# A full run rebuilds everything it needs once; incremental caches would only fill the disk.
export CARGO_INCREMENTAL=0

# How long one `cargo test` command may run. A test that hangs (a deadlock, a wait with no end)
# must fail the run with its name on screen, well inside CI's own limit, instead of stalling it:
# libtest names every test running for over 60 s, and `timeout` then stops the command. `all`
# compiles first, so its limit covers only running; `fast` compiles inside the command.
TEST_LIMIT="${HOOKLINE_TEST_LIMIT:-15m}"

# Filters `cargo test` output to what matters, line by line: grep into a pipe buffers 4 KB
# otherwise, and a run stopped by a timeout would lose exactly the lines that name the culprit.
quiet_ok() { grep --line-buffered -Ev '^test .* \.\.\. ok$'; }

section() { printf '\n\033[1;35m=== %s (%s) ===\033[0m\n' "$*" "$(date +%H:%M:%S)"; }

scripts_tests() {
  section "bootstrap: toolchain choice"
  bash scripts/tests/toolchain.sh
}

lint() {
  section "rustfmt"
  cargo fmt --all --check
  section "clippy"
  cargo clippy --all-targets -- -D warnings
}

# unit_and_integration [--release]
unit_and_integration() {
  section "unit and integration tests ${1:-}"
  # --show-output prints what passing tests report (the Mustache spec count, the crash test's tally).
  # `postgres_*` tests need the PostgreSQL server of `postgres_suite`, which runs them.
  timeout "$TEST_LIMIT" cargo test "$@" -- --show-output --skip postgres_ 2>&1 | tee target/test-output.txt | quiet_ok
  echo
  echo "Summary:"
  grep -E '^(test result:|mustache spec:|crash test:)' target/test-output.txt | awk '{print "  " $0}'
}

# The integration suite again, on PostgreSQL: a throw-away server (scripts/pg.sh) on a free port,
# each test server in a database of its own. Tests named `sqlite_*` are about SQLite's own files
# (its lock file, its WAL, file modes) and do not apply; they are skipped by name, so the summary
# counts only what ran.
postgres_suite() {
  section "integration tests on PostgreSQL ${1:-}"
  local pgdir
  pgdir="$(mktemp -d /tmp/hookline-pg.XXXXXX)"
  PG_DIRS+=("$pgdir")
  local url
  url="$(scripts/pg.sh start "$pgdir")"
  echo "PostgreSQL at $url"
  # The storage tests of PostgreSQL's own races, the suite, then the multi-instance tests (real
  # `hookline` processes sharing one database).
  { HOOKLINE_TEST_POSTGRES="$url" timeout "$TEST_LIMIT" cargo test "$@" -p hookline-server --lib -- postgres_ &&
    HOOKLINE_TEST_POSTGRES="$url" timeout "$TEST_LIMIT" cargo test "$@" -p hookline-it --test it -- --skip sqlite_ &&
    HOOKLINE_TEST_POSTGRES="$url" timeout "$TEST_LIMIT" cargo test "$@" -p hookline --test crash -- --show-output postgres_; } 2>&1 \
    | tee target/test-output-postgres.txt | quiet_ok
  scripts/pg.sh stop "$pgdir"
  echo
  echo "Summary (PostgreSQL):"
  grep -E '^(test result:|instances test:)' target/test-output-postgres.txt | awk '{print "  " $0}'
}
PG_DIRS=()
stop_postgres() { for dir in "${PG_DIRS[@]}"; do scripts/pg.sh stop "$dir" 2>/dev/null || true; done; }

# The JSON API against its contract: docs/openapi.json validated as OpenAPI 3.1, then Schemathesis
# fuzzes the release binary (throw-away data, admin token, in a network namespace of its own) and
# every case must get no 5xx and an answer the document describes. About 70 s on 2 cores.
api_contract() {
  section "API contract: OpenAPI 3.1 validation and Schemathesis against the release binary"
  [[ -x target/release/hookline ]] || { echo "no target/release/hookline: run scripts/build.sh first" >&2; exit 1; }
  scripts/schemathesis.sh target/release/hookline
}

# The browser tests run the release binary alone, from an empty folder: no target/site beside it,
# no HOOKLINE_SITE_ROOT, so every page and the hydration prove the embedded site works.
e2e() {
  section "browser tests (the release binary alone in an empty folder, throw-away database)"
  [[ -x target/release/hookline ]] || { echo "no target/release/hookline: run scripts/build.sh first" >&2; exit 1; }
  local lone
  lone="$(mktemp -d)"
  cp target/release/hookline "$lone/hookline"
  (cd end2end && E2E_BINARY="$lone/hookline" npx playwright test)
  rm -rf "$lone"
}

# A full run needs several GB in target/ (lint, release tests, WASM). Say so up front when the
# disk is short, since a full disk shows up later as a bare "Failed to build".
disk_check() {
  local free_kb
  free_kb=$(df -Pk . | awk 'NR==2 {print $4}')
  echo "free disk space: $((free_kb / 1024 / 1024)) GB"
  if [ "$free_kb" -lt $((8 * 1024 * 1024)) ]; then
    echo "warning: less than 8 GB free; the build may fail with 'No space left on device'" >&2
  fi
}

mkdir -p target
disk_check
start=$SECONDS
case "$what" in
  all)
    scripts_tests
    section "rustfmt"
    cargo fmt --all --check
    # Two builds at once: the release site and the release tests. The server library never
    # depends on the site (only the small `hookline` binary crate does), and each build alone
    # leaves a core idle for long stretches (one big crate compiling at a time).
    #
    # Clippy runs inside the release build instead of as a third build: with clippy-driver as
    # the workspace wrapper, cargo compiles our crates through clippy (which lints, then hands
    # over to rustc), and dependencies, which are never linted, compile as usual. A separate
    # `cargo clippy` type-checked every dependency a second time, about a fifth of this step.
    # It lints the same targets as `cargo clippy --all-targets` (lib, bins, tests, examples of
    # the default members). Every cargo command below inherits the wrapper, so nothing is
    # compiled twice; a `make run` afterwards recompiles our crates without it (about 4 min).
    export RUSTC_WORKSPACE_WRAPPER=clippy-driver
    # `cargo clippy -- -D warnings` hands its arguments to clippy-driver this way.
    export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
    section "site (release WASM) in the background: target/site-build.log"
    # A failure below must not leave it running.
    trap 'for job in $(jobs -p); do pkill -TERM -P "$job" 2>/dev/null; kill "$job" 2>/dev/null; done; stop_postgres; true' EXIT
    # The WASM build is not linted (as before: `cargo clippy` checks the host build's crates).
    env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS scripts/build.sh site >target/site-build.log 2>&1 &
    site_pid=$!
    section "compiling the release tests, linted by clippy"
    # --timings writes target/cargo-timings/cargo-timing.html: where the build time goes.
    cargo test --release --no-run --timings
    section "waiting for the site"
    wait "$site_pid" || { cat target/site-build.log; echo "the site build failed" >&2; exit 1; }
    grep -F '[build' target/site-build.log
    # The same HOOKLINE_SITE_DIR as scripts/build.sh: only the binary crate relinks, and the test
    # build's target/release/hookline is the release binary `make run` serves.
    # The release binary with the site embedded (only the `hookline` crate relinks), then
    # Schemathesis against it in the background while the Rust tests run: each leaves much of the
    # two cores idle (the tests wait on sockets and timers), and together they take ~1.5 min less.
    export HOOKLINE_SITE_DIR="$ROOT/target/site"
    cargo build --release -p hookline
    api_contract >target/schemathesis.log 2>&1 &
    api_pid=$!
    unit_and_integration --release
    postgres_suite --release
    section "waiting for the API contract run: target/schemathesis.log"
    api_ok=0
    wait "$api_pid" || api_ok=$?
    cat target/schemathesis.log
    [[ $api_ok -eq 0 ]] || { echo "the API contract run failed" >&2; exit 1; }
    e2e
    # Last, on a machine the other checks no longer load: a 2x slowdown or a stall fails here.
    section "benchmark regression check"
    scripts/bench.sh check
    section "dist"
    scripts/dist.sh
    ;;
  fast) trap stop_postgres EXIT; scripts_tests; lint; unit_and_integration; postgres_suite ;;
  postgres) trap stop_postgres EXIT; postgres_suite ;;
  lint) lint ;;
  scripts) scripts_tests ;;
  e2e) e2e ;;
  api) api_contract ;;
  *) echo "usage: $0 all|fast|lint|e2e|api|scripts|postgres" >&2; exit 2 ;;
esac
section "all checks passed ($what) in $(((SECONDS - start) / 60)) min $(((SECONDS - start) % 60)) s"
