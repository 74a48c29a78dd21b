#!/usr/bin/env bash
# Tests the toolchain choice (scripts/lib/toolchain.sh) against a fake `rustup` that answers like
# the machines Hookline is built on: rustup's default too old, a newer nightly installed, rustup's
# server reachable or not, the wasm32 target addable or not, no rustup at all.
# Prints "N passed, M failed" and exits non-zero when any case fails.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../lib/toolchain.sh
source "$ROOT/scripts/lib/toolchain.sh"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
FAKE_BIN="$WORK/bin"
mkdir -p "$FAKE_BIN"

# The fake rustup. Its world: FAKE_TCS ("name=version ..."), FAKE_DEFAULT, FAKE_WASM (toolchains that
# have the wasm32 target), FAKE_TARGET_ADD (ok|fail), FAKE_INSTALL (ok|fail); what it installs or
# adds is kept in $FAKE_STATE so later calls see it.
cat >"$FAKE_BIN/rustup" <<'EOF'
#!/usr/bin/env bash
state="$FAKE_STATE"
tcs() { printf '%s\n' $FAKE_TCS; cat "$state/installed" 2>/dev/null; }
version_of() { tcs | awk -F= -v t="$1" '$1 == t { print $2 }' | head -n1; }
has_wasm() { [[ " $FAKE_WASM " == *" $1 "* ]] || grep -qx "$1" "$state/wasm" 2>/dev/null; }
toolchain_arg() { while [[ $# -gt 0 ]]; do [[ "$1" == --toolchain ]] && { echo "$2"; return; }; shift; done; }
case "$1 ${2:-}" in
  "default ")
    [[ -n "$FAKE_DEFAULT" ]] || { echo "error: no default toolchain is configured" >&2; exit 1; }
    echo "$FAKE_DEFAULT (default)" ;;
  "toolchain list")
    tcs | cut -d= -f1 | while read -r t; do [[ "$t" == "$FAKE_DEFAULT" ]] && echo "$t (default)" || echo "$t"; done ;;
  "toolchain install")
    [[ "$FAKE_INSTALL" == ok ]] || { echo "error: could not download" >&2; exit 1; }
    echo "$3=$3.0" >>"$state/installed"; echo "$3" >>"$state/wasm" ;;
  "run "*)
    v="$(version_of "$2")"; [[ -n "$v" ]] || { echo "error: toolchain '$2' is not installed" >&2; exit 1; }
    echo "rustc $v (0123456ab 2026-01-01)" ;;
  "target list")
    tc="$(toolchain_arg "$@")"; echo x86_64-unknown-linux-gnu; has_wasm "$tc" && echo wasm32-unknown-unknown; exit 0 ;;
  "target add")
    [[ "$FAKE_TARGET_ADD" == ok ]] || { echo "error: component download failed" >&2; exit 1; }
    toolchain_arg "$@" >>"$state/wasm" ;;
  "component list") printf 'clippy-x86_64-unknown-linux-gnu\nrustfmt-x86_64-unknown-linux-gnu\n' ;;
  "component add") ;;
  *) echo "fake rustup: unexpected call: $*" >&2; exit 2 ;;
esac
EOF
chmod +x "$FAKE_BIN/rustup"

passed=0 failed=0
ORIGINAL_PATH="$PATH"

# scenario NAME -- sets up the fake world from the variables given, runs choose_toolchain MIN and
# compares mode, toolchain and a fragment of the reason.
check() { # check NAME MIN WANT_MODE WANT_NAME WANT_REASON_FRAGMENT
  local name="$1" min="$2" want_mode="$3" want_name="$4" want_reason="$5"
  export FAKE_STATE="$WORK/state-$RANDOM$RANDOM"
  mkdir -p "$FAKE_STATE"
  local status=0
  choose_toolchain "$min" || status=$?
  if [[ $status -eq 0 && "$TC_MODE" == "$want_mode" && "$TC_NAME" == "$want_name" && "$TC_REASON" == *"$want_reason"* ]]; then
    passed=$((passed + 1))
    printf 'ok    %s: %s %s (%s)\n' "$name" "$TC_MODE" "$TC_NAME" "$TC_REASON"
  else
    failed=$((failed + 1))
    printf 'FAIL  %s: got status %s, mode %q, toolchain %q, reason %q; wanted %s %s with "%s"\n' \
      "$name" "$status" "$TC_MODE" "$TC_NAME" "$TC_REASON" "$want_mode" "$want_name" "$want_reason"
  fi
}

expect() { # expect NAME COMMAND... : a plain assertion
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); printf 'ok    %s\n' "$name"
  else failed=$((failed + 1)); printf 'FAIL  %s\n' "$name"; fi
}

# --- version parsing and comparison ---------------------------------------------------------
expect "rustc stable version is read" test "$(rust_version 'rustc 1.95.0 (59807616e 2026-04-14)')" = 1.95.0
expect "rustc nightly version is read" test "$(rust_version 'rustc 1.97.0-nightly (e50aa6fba 2026-05-19)')" = 1.97.0
expect "a non-rustc line gives nothing" test -z "$(rust_version 'error: toolchain not installed')"
expect "1.96.0 >= 1.96" version_ge 1.96.0 1.96
expect "1.96 >= 1.96.0" version_ge 1.96 1.96.0
expect "1.100.0 >= 1.99" version_ge 1.100.0 1.99
not() { ! "$@"; }
expect "not 1.95.1 >= 1.96" not version_ge 1.95.1 1.96
expect "not 1.9.0 >= 1.89" not version_ge 1.9.0 1.89
expect "the workspace declares its minimum Rust version" test -n "$(workspace_msrv "$ROOT/Cargo.toml")"

# --- the choice -----------------------------------------------------------------------------
export PATH="$FAKE_BIN:$ORIGINAL_PATH"
export FAKE_TCS FAKE_DEFAULT FAKE_WASM FAKE_TARGET_ADD FAKE_INSTALL
unset HOOKLINE_TOOLCHAIN
S=stable-x86_64-unknown-linux-gnu N=nightly-x86_64-unknown-linux-gnu

FAKE_TCS="$S=1.95.0" FAKE_DEFAULT=$S FAKE_WASM="" FAKE_TARGET_ADD=ok FAKE_INSTALL=ok
check "default new enough, wasm32 addable" 1.89 rustup $S "rustup's default stable is 1.95.0"

FAKE_TCS="$S=1.95.0" FAKE_DEFAULT=$S FAKE_WASM="$S" FAKE_TARGET_ADD=fail FAKE_INSTALL=fail
check "default new enough, wasm32 already there (offline)" 1.89 rustup $S "stable is 1.95.0"

FAKE_TCS="$S=1.95.0 1.96.1-x86_64-unknown-linux-gnu=1.96.1 $N=1.97.0-nightly" FAKE_DEFAULT=$S FAKE_WASM="" FAKE_TARGET_ADD=ok FAKE_INSTALL=fail
check "default too old: an installed release beats nightly" 1.96 rustup 1.96.1-x86_64-unknown-linux-gnu \
  "rustup stable is 1.95.0, 1.96 is needed: using the installed rustup toolchain 1.96.1"

FAKE_TCS="$S=1.95.0 $N=1.97.0-nightly" FAKE_DEFAULT=$S FAKE_WASM="" FAKE_TARGET_ADD=ok FAKE_INSTALL=fail
check "default too old, nothing to install: the installed nightly" 1.96 rustup $N "using the installed rustup toolchain nightly (1.97.0)"

FAKE_TCS="$S=1.95.0" FAKE_DEFAULT=$S FAKE_WASM="" FAKE_TARGET_ADD=ok FAKE_INSTALL=ok
check "default too old, rustup can install the minimum" 1.96 rustup 1.96 "rustup stable is 1.95.0, 1.96 is needed: installed Rust 1.96.0 with rustup"

FAKE_TCS="$S=1.95.0" FAKE_DEFAULT=$S FAKE_WASM="" FAKE_TARGET_ADD=ok FAKE_INSTALL=fail
check "default too old and rustup offline: Debian" 1.96 debian "" \
  "rustup stable is 1.95.0, 1.96 is needed; rustup cannot install 1.96 here: using Debian's rustc-web"

FAKE_TCS="$S=1.95.0 $N=1.97.0-nightly" FAKE_DEFAULT=$S FAKE_WASM="" FAKE_TARGET_ADD=fail FAKE_INSTALL=fail
check "wasm32 target cannot be added anywhere: Debian" 1.89 debian "" \
  "rustup stable cannot add the wasm32-unknown-unknown target; rustup nightly cannot"

FAKE_TCS="$S=1.95.0" FAKE_DEFAULT="" FAKE_WASM="$S" FAKE_TARGET_ADD=fail FAKE_INSTALL=fail
check "no default toolchain configured: an installed one" 1.89 rustup $S "using the installed rustup toolchain stable"

FAKE_TCS="$S=1.95.0" FAKE_DEFAULT=$S FAKE_WASM="$S" FAKE_TARGET_ADD=ok FAKE_INSTALL=ok
HOOKLINE_TOOLCHAIN=debian check "HOOKLINE_TOOLCHAIN=debian forces Debian" 1.89 debian "" "HOOKLINE_TOOLCHAIN=debian"
HOOKLINE_TOOLCHAIN=$N FAKE_TCS="$S=1.95.0 $N=1.97.0-nightly" check "HOOKLINE_TOOLCHAIN names a rustup toolchain" 1.89 rustup $N "HOOKLINE_TOOLCHAIN=$N"

HOOKLINE_TOOLCHAIN=$S choose_toolchain 1.96 >/dev/null 2>&1
expect "a forced toolchain that is too old is refused, saying why" test "$TC_REASON" = "HOOKLINE_TOOLCHAIN=$S is 1.95.0, 1.96 is needed"

PATH="$(dirname "$(command -v bash)"):/usr/bin:/bin"
hide="$WORK/norustup"; mkdir -p "$hide"
PATH="$hide:/usr/bin:/bin" check "no rustup at all: Debian" 1.89 debian "" "no rustup on this machine"
PATH="$FAKE_BIN:$ORIGINAL_PATH"

echo
echo "toolchain choice: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
