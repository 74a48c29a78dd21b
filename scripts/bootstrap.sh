#!/usr/bin/env bash
# Installs whatever Hookline's build and tests need and is missing, then writes .toolchain/env,
# which the Makefile and scripts source. Idempotent: on a machine that has everything it takes a
# few seconds, and every tool is checked by its version, not only by its presence.
#
#   scripts/bootstrap.sh           tools to build and run (Rust with wasm32, wasm-bindgen-cli,
#                                  wasm-opt, brotli)
#   scripts/bootstrap.sh --test    the same plus clippy/rustfmt, Playwright and Chromium
#   HOOKLINE_TOOLCHAIN=debian ...  use Debian's rustc-web even where rustup works
#   HOOKLINE_TOOLCHAIN=<name> ...  use that installed rustup toolchain
#
# The Rust toolchain is chosen by scripts/lib/toolchain.sh against the workspace's rust-version.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLCHAIN_DIR="$ROOT/.toolchain"
WANT_TEST=0
[[ "${1:-}" == "--test" ]] && WANT_TEST=1
# shellcheck source=lib/toolchain.sh
source "$ROOT/scripts/lib/toolchain.sh"

log() { printf '\033[1;34m[bootstrap %s]\033[0m %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '\033[1;31m[bootstrap]\033[0m %s\n' "$*" >&2; exit 1; }
timed() { # timed "what" "how long it usually takes" command...
  local what="$1" estimate="$2"; shift 2
  log "Installing $what (usually $estimate on 2 cores; the output below shows progress)…"
  local start=$SECONDS
  "$@"
  log "Installed $what in $(((SECONDS - start) / 60)) min $(((SECONDS - start) % 60)) s."
}

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=0
apt_install() { # apt_install pkg... : installs the packages that are not (fully) installed yet
  local missing=()
  for pkg in "$@"; do
    # "install ok installed" only: a half-configured package from an interrupted run is redone.
    [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" == "install ok installed" ]] || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get to install them"
  if [[ $APT_UPDATED -eq 0 ]]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root dpkg --configure -a >/dev/null 2>&1 || true
  timed "Debian packages: ${missing[*]}" "under a minute" \
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# ---------------------------------------------------------------------------------------------
# 1. A Rust toolchain that is new enough and can target wasm32.
MIN_RUST="$(workspace_msrv "$ROOT/Cargo.toml")"
[[ -n "$MIN_RUST" ]] || die "Cargo.toml declares no rust-version"
mkdir -p "$TOOLCHAIN_DIR/bin"
export TC_WANT_LINT=$WANT_TEST
choose_toolchain "$MIN_RUST" || die "$TC_REASON"

if [[ "$TC_MODE" == rustup ]]; then
  rm -f "$TOOLCHAIN_DIR/bin/"*
  ENV_LINES="export RUSTUP_TOOLCHAIN=\"$TC_NAME\""
  log "Rust $TC_VERSION from rustup: $TC_REASON."
else
  apt_install rustc-web cargo-web rust-web-src rust-web-llvm lld-22 rust-web-clippy rustfmt-web
  [[ -x /usr/bin/rust-lld ]] || die "/usr/bin/rust-lld is missing (package lld-22)"
  TC_VERSION="$(rust_version "$(/usr/bin/rustc --version)")"
  version_ge "$TC_VERSION" "$MIN_RUST" || die "Debian's rustc is $TC_VERSION, $MIN_RUST is needed"
  # Scripts run plain `cargo`: put Debian's tools first on PATH through a folder of links.
  for tool in cargo rustc rustdoc cargo-clippy clippy-driver rustfmt cargo-fmt; do
    [[ -x "/usr/bin/$tool" ]] && ln -sf "/usr/bin/$tool" "$TOOLCHAIN_DIR/bin/$tool"
  done
  # Stable cargo accepts -Zbuild-std (std for wasm32 from Debian's rust-web-src) with RUSTC_BOOTSTRAP.
  ENV_LINES="export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 HOOKLINE_WASM_BUILD_STD=1"
  log "Rust $TC_VERSION from Debian: $TC_REASON $TC_VERSION."
fi

CARGO_BIN_DIR="${CARGO_HOME:-$HOME/.cargo}/bin"
mkdir -p "$CARGO_BIN_DIR"
cat >"$TOOLCHAIN_DIR/env" <<EOF
# Written by scripts/bootstrap.sh: $TC_MODE toolchain, Rust $TC_VERSION ($TC_REASON).
export PATH="$TOOLCHAIN_DIR/bin:$CARGO_BIN_DIR:$ROOT/end2end/node_modules/.bin:\$PATH"
$ENV_LINES
EOF
# shellcheck disable=SC1091
source "$TOOLCHAIN_DIR/env"
rust_version "$(rustc --version)" | grep -qx "$TC_VERSION" ||
  die "rustc on PATH is $(rustc --version), expected $TC_VERSION: check PATH and RUSTUP_TOOLCHAIN"

# ---------------------------------------------------------------------------------------------
# 2. wasm-bindgen-cli, exactly the version of the wasm-bindgen crate in Cargo.lock. An earlier
# install that was interrupted leaves no binary or one that does not run: both are redone.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$ROOT/Cargo.lock")"
[[ -n "$WASM_BINDGEN_VERSION" ]] || die "cannot read the wasm-bindgen version from Cargo.lock"
if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]]; then
  # Not --locked: its lock file wants a webpki-roots version this registry does not serve.
  timed "wasm-bindgen-cli $WASM_BINDGEN_VERSION" "3-5 minutes, once per machine" \
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
  [[ "$(wasm-bindgen --version 2>/dev/null)" == "wasm-bindgen $WASM_BINDGEN_VERSION" ]] ||
    die "wasm-bindgen-cli $WASM_BINDGEN_VERSION did not install"
fi

# ---------------------------------------------------------------------------------------------
# 3. npm packages: binaryen's wasm-opt (Debian's is too old and breaks hydration) and Playwright,
# at the versions package-lock.json pins. A half-finished `npm ci` fails these checks and is redone.
npm_version() { # npm_version PACKAGE -> the version installed in end2end/node_modules
  node -p "require('$ROOT/end2end/node_modules/$1/package.json').version" 2>/dev/null || true
}
npm_locked() { # npm_locked PACKAGE -> the version package-lock.json wants
  node -p "require('$ROOT/end2end/package-lock.json').packages['node_modules/$1'].version" 2>/dev/null || true
}
command -v npm >/dev/null || apt_install nodejs npm
if [[ "$(npm_version binaryen)" != "$(npm_locked binaryen)" || "$(npm_version @playwright/test)" != "$(npm_locked @playwright/test)" ]] ||
    ! "$ROOT/end2end/node_modules/.bin/wasm-opt" --version >/dev/null 2>&1 ||
    ! "$ROOT/end2end/node_modules/.bin/playwright" --version >/dev/null 2>&1; then
  timed "npm packages for end2end/ (Playwright, binaryen)" "under a minute" \
    npm --prefix "$ROOT/end2end" ci --no-audit --no-fund --loglevel=error
fi

# ---------------------------------------------------------------------------------------------
# 4. brotli, to precompress the site the binary embeds.
command -v brotli >/dev/null || apt_install brotli

# ---------------------------------------------------------------------------------------------
# 5. A real browser for the browser tests.
if [[ $WANT_TEST -eq 1 && -z "${CHROMIUM:-}" ]]; then
  chromium --version >/dev/null 2>&1 || apt_install chromium
  chromium --version >/dev/null 2>&1 || die "chromium does not run after installing it"
fi

# ---------------------------------------------------------------------------------------------
# 5b. PostgreSQL (make test only): the integration suite runs a second time against a throw-away
# server that scripts/pg.sh starts from these programs (no system service is started or changed).
# `postgresql-15` alone: the `postgresql` metapackage would create and start a system cluster.
if [[ $WANT_TEST -eq 1 ]]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql-15
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || die "PostgreSQL's initdb is missing after installing postgresql-15"
  command -v runuser >/dev/null || apt_install util-linux
fi

# ---------------------------------------------------------------------------------------------
# 6. Schemathesis and openapi-spec-validator (make test only), from PyPI into a virtualenv of their
# own: scripts/schemathesis.sh validates docs/openapi.json and fuzzes the JSON API against it, in a
# network namespace (unshare, ip). Pinned, and checked by version like everything else.
SCHEMATHESIS_VERSION=4.32.5
SPEC_VALIDATOR_VERSION=0.9.0
VENV="$TOOLCHAIN_DIR/venv"
venv_version() { # venv_version DISTRIBUTION -> its version in the virtualenv, or nothing
  "$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null || true
}
if [[ $WANT_TEST -eq 1 ]]; then
  command -v ip >/dev/null || apt_install iproute2
  command -v curl >/dev/null || apt_install curl
  if [[ "$(venv_version schemathesis)" != "$SCHEMATHESIS_VERSION" ||
        "$(venv_version openapi-spec-validator)" != "$SPEC_VALIDATOR_VERSION" ]] ||
      ! "$VENV/bin/schemathesis" --version >/dev/null 2>&1; then
    python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 10))' 2>/dev/null ||
      apt_install python3 python3-venv
    rm -rf "$VENV"
    timed "Schemathesis $SCHEMATHESIS_VERSION into .toolchain/venv (PyPI)" "under a minute" \
      bash -c "python3 -m venv '$VENV' && '$VENV/bin/pip' install --quiet --disable-pip-version-check \
        'schemathesis==$SCHEMATHESIS_VERSION' 'openapi-spec-validator==$SPEC_VALIDATOR_VERSION'"
    [[ "$(venv_version schemathesis)" == "$SCHEMATHESIS_VERSION" ]] || die "Schemathesis $SCHEMATHESIS_VERSION did not install"
  fi
fi

log "Tools ready: Rust $TC_VERSION ($TC_MODE), wasm-bindgen $WASM_BINDGEN_VERSION, wasm-opt $(wasm-opt --version | awk '{print $3}')."
