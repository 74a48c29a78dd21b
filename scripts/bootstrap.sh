#!/usr/bin/env bash
# Installs whatever Hookline's build and tests need and is missing, then writes .toolchain/env,
# which the Makefile sources. Idempotent: on a machine that has everything it takes a second.
#
#   scripts/bootstrap.sh           tools to build and run (Rust with wasm32, cargo-leptos,
#                                  wasm-bindgen-cli, wasm-opt)
#   scripts/bootstrap.sh --test    the same plus Chromium for the browser tests
#   HOOKLINE_TOOLCHAIN=debian ...  use Debian's toolchain even where rustup works
#
# Where rustup can add the wasm32 target (a laptop with internet), rustup's toolchain is used.
# Where it cannot (no rustup server reachable), Debian's rustc-web (1.96, with the std source)
# builds both the server and the WASM, std for wasm32 being built from source (-Zbuild-std).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLCHAIN_DIR="$ROOT/.toolchain"
CARGO_LEPTOS_VERSION="0.3.11"
WANT_BROWSER=0
[[ "${1:-}" == "--test" ]] && WANT_BROWSER=1

log() { printf '\033[1;34m[bootstrap %s]\033[0m %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '\033[1;31m[bootstrap]\033[0m %s\n' "$*" >&2; exit 1; }
timed() { # timed "what" "how long it usually takes" command...
  local what="$1" estimate="$2"; shift 2
  log "Installing $what (usually $estimate on 2 cores; the output below shows progress)…"
  local start=$SECONDS
  "$@"
  log "Installed $what in $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s."
}

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=0
apt_install() { # apt_install pkg... : installs the packages that are not installed yet
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get to install them"
  if [[ $APT_UPDATED -eq 0 ]]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  timed "Debian packages: ${missing[*]}" "under a minute" \
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# ---------------------------------------------------------------------------------------------
# 1. A Rust toolchain that can target wasm32.
mkdir -p "$TOOLCHAIN_DIR/bin"
MODE=""
# HOOKLINE_TOOLCHAIN=debian forces the fallback (to test it where rustup works).
if [[ "${HOOKLINE_TOOLCHAIN:-}" != debian ]] && command -v rustup >/dev/null 2>&1; then
  if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    MODE=rustup
  elif timeout 60 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
    log "Added the wasm32-unknown-unknown target with rustup."
    MODE=rustup
  fi
fi
if [[ "$MODE" == rustup ]]; then
  # The WASM build compiles std from source (see Cargo.toml's lib-cargo-args), so it needs rust-src.
  rustup component list --installed 2>/dev/null | grep -q '^rust-src' || rustup component add rust-src
  RUSTC_BIN="$(rustup which rustc)"
  rm -f "$TOOLCHAIN_DIR/bin/"*
else
  log "rustup cannot add wasm32-unknown-unknown here; using Debian's rustc-web toolchain."
  apt_install rustc-web cargo-web rust-web-src rust-web-llvm lld-22 rust-web-clippy rustfmt-web
  [[ -x /usr/bin/rust-lld ]] || die "/usr/bin/rust-lld is missing (package lld-22)"
  # cargo-leptos runs plain `cargo`: put Debian's tools first on PATH through a folder of links.
  for tool in cargo rustc rustdoc cargo-clippy clippy-driver rustfmt cargo-fmt; do
    [[ -x "/usr/bin/$tool" ]] && ln -sf "/usr/bin/$tool" "$TOOLCHAIN_DIR/bin/$tool"
  done
  RUSTC_BIN=/usr/bin/rustc
  MODE=debian
fi

CARGO_BIN_DIR="${CARGO_HOME:-$HOME/.cargo}/bin"
mkdir -p "$CARGO_BIN_DIR"
cat >"$TOOLCHAIN_DIR/env" <<EOF
# Written by scripts/bootstrap.sh ($MODE toolchain). Sourced by the Makefile.
export PATH="$TOOLCHAIN_DIR/bin:$CARGO_BIN_DIR:$ROOT/end2end/node_modules/.bin:\$PATH"
export RUSTC="$RUSTC_BIN"
# Stable compilers accept -Zbuild-std (needed to build std for wasm32) with this set.
export RUSTC_BOOTSTRAP=1
EOF
# shellcheck disable=SC1091
source "$TOOLCHAIN_DIR/env"
log "Rust: $(rustc --version) via $(command -v cargo) ($MODE)."

# ---------------------------------------------------------------------------------------------
# 2. cargo-leptos (built once per machine, into ~/.cargo/bin).
if ! cargo-leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  # Link-time optimisation off and more codegen units roughly halve this build on 2 cores.
  timed "cargo-leptos $CARGO_LEPTOS_VERSION" "20-25 minutes, once per machine" \
    env CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

# ---------------------------------------------------------------------------------------------
# 3. wasm-bindgen-cli, exactly the version of the wasm-bindgen crate in Cargo.lock.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$ROOT/Cargo.lock")"
[[ -n "$WASM_BINDGEN_VERSION" ]] || die "cannot read the wasm-bindgen version from Cargo.lock"
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then
  # Not --locked: its lock file wants a webpki-roots version this registry does not serve.
  timed "wasm-bindgen-cli $WASM_BINDGEN_VERSION" "4-10 minutes, once per machine" \
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# ---------------------------------------------------------------------------------------------
# 4. npm packages: binaryen's wasm-opt (Debian's is too old and breaks hydration) and Playwright.
if [[ ! -x "$ROOT/end2end/node_modules/.bin/wasm-opt" || ! -d "$ROOT/end2end/node_modules/@playwright/test" \
      || "$ROOT/end2end/package-lock.json" -nt "$ROOT/end2end/node_modules/.package-lock.json" ]]; then
  command -v npm >/dev/null || apt_install nodejs npm
  timed "npm packages for end2end/ (Playwright, binaryen)" "under a minute" \
    npm --prefix "$ROOT/end2end" ci --no-audit --no-fund --loglevel=error
fi

# ---------------------------------------------------------------------------------------------
# 5. A real browser for the browser tests.
if [[ $WANT_BROWSER -eq 1 ]]; then
  if [[ -z "${CHROMIUM:-}" ]] && ! command -v chromium >/dev/null 2>&1; then
    apt_install chromium
  fi
fi

log "Tools ready."
