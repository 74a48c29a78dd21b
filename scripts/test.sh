#!/usr/bin/env bash
# Runs Hookline's checks: `scripts/test.sh all|fast|lint|e2e`. Expects the tools that
# scripts/bootstrap.sh installs (the Makefile runs it first).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
what="${1:-all}"
# A full run rebuilds everything it needs once; incremental caches would only fill the disk.
export CARGO_INCREMENTAL=0

section() { printf '\n\033[1;35m=== %s ===\033[0m\n' "$*"; }

lint() {
  section "rustfmt"
  cargo fmt --all --check
  section "clippy"
  cargo clippy --all-targets -- -D warnings
}

unit_and_integration() {
  section "unit and integration tests"
  # --show-output prints what passing tests report (the Mustache spec count, the crash test's tally).
  cargo test -- --show-output 2>&1 | tee target/test-output.txt | grep -Ev '^test .* \.\.\. ok$'
  echo
  echo "Summary:"
  grep -E '^(test result:|mustache spec:|crash test:)' target/test-output.txt | awk '{print "  " $0}'
}

e2e() {
  section "browser tests (debug build of the server and WASM, throw-away database)"
  cargo leptos build
  (cd end2end && npx playwright test)
}

mkdir -p target
case "$what" in
  all) lint; unit_and_integration; e2e ;;
  fast) lint; unit_and_integration ;;
  lint) lint ;;
  e2e) e2e ;;
  *) echo "usage: $0 all|fast|lint|e2e" >&2; exit 2 ;;
esac
section "all checks passed ($what)"
