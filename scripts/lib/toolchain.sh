# Choosing the Rust toolchain that builds Hookline. Sourced by scripts/bootstrap.sh and exercised,
# with fake `rustup` outputs, by scripts/tests/toolchain.sh, so the choice cannot regress silently.
#
# The order, each candidate checked against the workspace's `rust-version` (Cargo.toml):
#   1. rustup's default toolchain, if new enough and it has (or can add) the wasm32 target;
#   2. another installed rustup toolchain that is new enough: releases first, newest first, then
#      beta/nightly;
#   3. the required version installed with rustup (works where rustup's server is reachable);
#   4. Debian's rustc-web, which ships a matching std source for wasm32 (no rustup server needed).
# HOOKLINE_TOOLCHAIN=debian forces 4; HOOKLINE_TOOLCHAIN=<rustup toolchain> forces that toolchain.
#
# The result is in TC_MODE (rustup|debian), TC_NAME (the rustup toolchain), TC_VERSION and
# TC_REASON (one sentence saying what was chosen and why).

# rust_version "rustc 1.97.0-nightly (e50aa6fba 2026-05-19)" -> 1.97.0 (empty when not rustc's format)
rust_version() {
  sed -nE 's/^rustc ([0-9]+\.[0-9]+(\.[0-9]+)?).*/\1/p' <<<"$1" | head -n1
}

# version_ge A B: A >= B, comparing numerically part by part (1.100 > 1.99; 1.96 = 1.96.0).
version_ge() {
  local IFS=.
  # shellcheck disable=SC2206
  local a=($1) b=($2) i
  for i in 0 1 2; do
    local x=${a[i]:-0} y=${b[i]:-0}
    ((10#$x > 10#$y)) && return 0
    ((10#$x < 10#$y)) && return 1
  done
  return 0
}

# The minimum Rust version, declared once: `rust-version` in the workspace Cargo.toml.
workspace_msrv() {
  sed -nE 's/^rust-version *= *"([0-9.]+)".*/\1/p' "${1:-Cargo.toml}" | head -n1
}

# rustup toolchain list -> names, releases (newest first) before beta/nightly, the default left out.
_tc_others() {
  local default="$1"
  rustup toolchain list 2>/dev/null | awk '{print $1}' | grep -vx "$default" | grep -v '^$' |
    awk '{ channel = ($1 ~ /^(nightly|beta)/) ? 1 : 0; print channel "\t" $1 }' |
    sort -t$'\t' -k1,1n -k2,2Vr | cut -f2
}

# _tc_version TOOLCHAIN -> its rustc version, e.g. 1.95.0 (empty when it does not run)
_tc_version() {
  rust_version "$(rustup run "$1" rustc --version 2>/dev/null)"
}

# _tc_ready TOOLCHAIN: has the wasm32 target (adding it if needed) and, for tests, clippy and rustfmt.
_tc_ready() {
  local tc="$1"
  if ! rustup target list --installed --toolchain "$tc" 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    timeout 120 rustup target add --toolchain "$tc" wasm32-unknown-unknown >/dev/null 2>&1 || {
      TC_NOTES+=("rustup ${tc%%-x86_64*} cannot add the wasm32-unknown-unknown target")
      return 1
    }
  fi
  if [[ "${TC_WANT_LINT:-0}" == 1 ]]; then
    local installed
    installed="$(rustup component list --installed --toolchain "$tc" 2>/dev/null)"
    if ! grep -q '^clippy' <<<"$installed" || ! grep -q '^rustfmt' <<<"$installed"; then
      timeout 120 rustup component add --toolchain "$tc" clippy rustfmt >/dev/null 2>&1 || {
        TC_NOTES+=("rustup ${tc%%-x86_64*} has no clippy/rustfmt and cannot add them")
        return 1
      }
    fi
  fi
  return 0
}

_tc_pick_rustup() { # _tc_pick_rustup TOOLCHAIN VERSION WHY
  TC_MODE=rustup TC_NAME="$1" TC_VERSION="$2"
  TC_REASON="$3"
}

_tc_pick_debian() { # _tc_pick_debian WHY
  TC_MODE=debian TC_NAME="" TC_VERSION=""
  TC_REASON="$1: using Debian's rustc-web"
}

# choose_toolchain MIN
choose_toolchain() {
  TC_MIN="$1" TC_MODE="" TC_NAME="" TC_VERSION="" TC_REASON="" TC_NOTES=()
  local forced="${HOOKLINE_TOOLCHAIN:-}" tc v default
  if [[ "$forced" == debian ]]; then
    _tc_pick_debian "HOOKLINE_TOOLCHAIN=debian"
    return 0
  fi
  if ! command -v rustup >/dev/null 2>&1; then
    _tc_pick_debian "no rustup on this machine"
    return 0
  fi
  if [[ -n "$forced" ]]; then
    v="$(_tc_version "$forced")"
    [[ -n "$v" ]] || { TC_REASON="HOOKLINE_TOOLCHAIN=$forced is not an installed rustup toolchain"; return 1; }
    version_ge "$v" "$TC_MIN" || { TC_REASON="HOOKLINE_TOOLCHAIN=$forced is $v, $TC_MIN is needed"; return 1; }
    _tc_ready "$forced" || { TC_REASON="${TC_NOTES[-1]}"; return 1; }
    _tc_pick_rustup "$forced" "$v" "HOOKLINE_TOOLCHAIN=$forced ($v)"
    return 0
  fi

  default="$(rustup default 2>/dev/null | awk '{print $1}')"
  if [[ -n "$default" ]]; then
    v="$(_tc_version "$default")"
    if [[ -z "$v" ]]; then
      TC_NOTES+=("rustup's default ${default%%-x86_64*} does not run")
    elif ! version_ge "$v" "$TC_MIN"; then
      TC_NOTES+=("rustup ${default%%-x86_64*} is $v, $TC_MIN is needed")
    elif _tc_ready "$default"; then
      _tc_pick_rustup "$default" "$v" "rustup's default ${default%%-x86_64*} is $v ($TC_MIN or newer is needed)"
      return 0
    fi
  fi

  while read -r tc; do
    [[ -n "$tc" ]] || continue
    v="$(_tc_version "$tc")"
    [[ -n "$v" ]] || continue
    if version_ge "$v" "$TC_MIN" && _tc_ready "$tc"; then
      _tc_pick_rustup "$tc" "$v" "$(_tc_because "using the installed rustup toolchain ${tc%%-x86_64*} ($v)")"
      return 0
    fi
  done < <(_tc_others "$default")

  if timeout 300 rustup toolchain install "$TC_MIN" --profile minimal --component clippy,rustfmt \
      --target wasm32-unknown-unknown >/dev/null 2>&1; then
    v="$(_tc_version "$TC_MIN")"
    if [[ -n "$v" ]] && version_ge "$v" "$TC_MIN" && _tc_ready "$TC_MIN"; then
      _tc_pick_rustup "$TC_MIN" "$v" "$(_tc_because "installed Rust $v with rustup")"
      return 0
    fi
  else
    TC_NOTES+=("rustup cannot install $TC_MIN here")
  fi
  _tc_pick_debian "$(_tc_notes_or "no rustup toolchain fits")"
}

# _tc_because WHAT -> "note; note: WHAT" (or just WHAT when nothing was ruled out)
_tc_because() {
  if [[ ${#TC_NOTES[@]} -eq 0 ]]; then
    printf '%s' "$1"
    return
  fi
  printf '%s: %s' "$(_tc_notes_or "")" "$1"
}

# _tc_notes_or DEFAULT -> the notes joined with "; ", or DEFAULT when there are none
_tc_notes_or() {
  [[ ${#TC_NOTES[@]} -eq 0 ]] && { printf '%s' "$1"; return; }
  local IFS=$'\x1f'
  local joined="${TC_NOTES[*]}"
  printf '%s' "${joined//$'\x1f'/; }"
}
