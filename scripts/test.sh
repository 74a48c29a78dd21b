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
  if ! cargo leptos build; then
    df -h . >&2
    echo "cargo leptos build failed (see the compiler output above)" >&2
    exit 1
  fi
  (cd end2end && npx playwright test)
}

# A full run needs roughly 6 GB in target/ (test build, WASM, server). Say so up front when the
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
case "$what" in
  all) lint; unit_and_integration; e2e ;;
  fast) lint; unit_and_integration ;;
  lint) lint ;;
  e2e) e2e ;;
  *) echo "usage: $0 all|fast|lint|e2e" >&2; exit 2 ;;
esac
section "all checks passed ($what)"
