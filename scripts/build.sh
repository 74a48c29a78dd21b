#!/usr/bin/env bash
# Builds Hookline without cargo-leptos: plain cargo for the WASM frontend and for the server,
# wasm-bindgen for the JS glue, wasm-opt to strip the WASM's debug sections, then the server binary with the site
# embedded (server/build.rs). Uses the toolchain scripts/bootstrap.sh chose (.toolchain/env).
#
#   scripts/build.sh             the site, then target/release/hookline embedding it
#   scripts/build.sh site        only the site, into target/site
#   scripts/build.sh server      only the server binary (embeds the target/site already built)
#
# cargo-leptos is not needed (it takes 20-30 minutes to install on 2 cores); those who have it can
# still use `cargo leptos watch` with the metadata in Cargo.toml.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [[ -f .toolchain/env ]]; then
  # shellcheck source=/dev/null
  source .toolchain/env
fi

SITE="$ROOT/target/site"
# Incremental compilation of our own crates (dependencies are never incremental): after a one-line
# change in the server, `make run` rebuilds in 45-50 s instead of 5-6 min (measured on 2 busy cores),
# and the bench showed no slower binary. `make test` sets CARGO_INCREMENTAL=0 (one full build, no
# caches filling the disk); the WASM build uses LTO, which Cargo never builds incrementally.
: "${CARGO_INCREMENTAL:=1}"
export CARGO_INCREMENTAL
WASM_PROFILE=wasm-release

step() { printf '\033[1;36m[build %s]\033[0m %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
elapsed() { printf '%d min %d s' $(((SECONDS - $1) / 60)) $(((SECONDS - $1) % 60)); }

build_site() {
  local start=$SECONDS
  step "WASM frontend (profile $WASM_PROFILE)…"
  local std_args=()
  # Debian's rustc-web has no prebuilt std for wasm32: build it from its source (bootstrap.sh sets this).
  [[ "${HOOKLINE_WASM_BUILD_STD:-0}" == 1 ]] && std_args=(-Zbuild-std=std,panic_abort)
  cargo build -p frontend --lib --target wasm32-unknown-unknown --profile "$WASM_PROFILE" "${std_args[@]}"

  # Nothing to do when the WASM, the stylesheet and the public files are what the site was made
  # from (a rebuild of the server alone, or no change at all, keeps `make run` quick).
  local inputs
  inputs="$( (sha256sum "target/wasm32-unknown-unknown/$WASM_PROFILE/frontend.wasm" style/main.css;
              find public -type f -print0 | sort -z | xargs -0 sha256sum;
              echo "wasm-opt=${HOOKLINE_WASM_OPT:-strip}") | sha256sum | cut -d' ' -f1)"
  if [[ -f "$SITE/pkg/hookline.wasm" && "$(cat "$SITE.inputs" 2>/dev/null)" == "$inputs" ]]; then
    step "site is up to date (target/site)"
    return 0
  fi

  # Assemble the new site beside the old one and swap at the end, so a failed build never leaves
  # a half-written site for the server build to embed.
  local staging="$ROOT/target/site.new"
  rm -rf "$staging"
  mkdir -p "$staging/pkg"
  step "wasm-bindgen…"
  wasm-bindgen --target web --no-typescript --out-dir "$staging/pkg" --out-name hookline \
    "target/wasm32-unknown-unknown/$WASM_PROFILE/frontend.wasm"
  # Leptos loads <output name>.wasm (not _bg.wasm) when LEPTOS_OUTPUT_NAME is set at compile time.
  mv "$staging/pkg/hookline_bg.wasm" "$staging/pkg/hookline.wasm"
  # wasm-opt: by default only strip the name and debug sections. Measured on this 2-core machine
  # (rustc already optimised for size with LTO): -Oz took 3 min of CPU for 3.39 -> 2.88 MB, but
  # what the browser downloads grew (brotli 698 -> 760 kB, gzip 953 -> 1,071 kB), while stripping
  # takes 5 s. HOOKLINE_WASM_OPT=Oz (or any wasm-opt level, e.g. O2) runs the optimiser too.
  local opt_args=(--strip-debug --strip-producers)
  case "${HOOKLINE_WASM_OPT:-strip}" in
    strip|1) ;;
    0|none) opt_args=() ;;
    O*) opt_args+=("-$HOOKLINE_WASM_OPT") ;;
    *) echo "HOOKLINE_WASM_OPT must be strip, none or a wasm-opt level such as Oz, not '$HOOKLINE_WASM_OPT'" >&2; exit 2 ;;
  esac
  if [[ ${#opt_args[@]} -gt 0 ]]; then
    step "wasm-opt ${opt_args[*]}…"
    local before
    before=$(stat -c %s "$staging/pkg/hookline.wasm")
    wasm-opt "${opt_args[@]}" "$staging/pkg/hookline.wasm" -o "$staging/pkg/hookline.opt.wasm"
    mv "$staging/pkg/hookline.opt.wasm" "$staging/pkg/hookline.wasm"
    step "wasm-opt: $before -> $(stat -c %s "$staging/pkg/hookline.wasm") bytes"
  fi
  cp style/main.css "$staging/pkg/hookline.css"
  cp -R public/. "$staging/"
  step "precompressing (gzip, brotli)…"
  find "$staging" -type f \( -name '*.js' -o -name '*.wasm' -o -name '*.css' -o -name '*.svg' -o -name '*.json' \) \
    -print0 | while IFS= read -r -d '' file; do
      gzip -9 -n -k -f "$file"
      brotli -q 11 -k -f "$file"
    done
  echo "$inputs" >"$SITE.inputs.new"
  rm -rf "$SITE.old"
  [[ -d "$SITE" ]] && mv "$SITE" "$SITE.old"
  mv "$staging" "$SITE"
  mv "$SITE.inputs.new" "$SITE.inputs"
  rm -rf "$SITE.old"
  step "site ready in target/site ($(du -sh "$SITE" | cut -f1)) after $(elapsed "$start")"
}

build_server() {
  local start=$SECONDS
  [[ -f "$SITE/pkg/hookline.wasm" ]] || { echo "no site in target/site: run scripts/build.sh site first" >&2; exit 1; }
  step "server (release, site embedded)…"
  HOOKLINE_SITE_DIR="$SITE" cargo build --release -p hookline
  step "target/release/hookline: $(du -h target/release/hookline | cut -f1) after $(elapsed "$start")"
}

# The server library and its dependencies (most of the work) need no site: they compile while the
# WASM does, and only the small `hookline` crate waits for the site to embed it.
build_all() {
  local start=$SECONDS
  step "server library (release) alongside the site: target/server-lib-build.log"
  trap 'for job in $(jobs -p); do pkill -TERM -P "$job" 2>/dev/null; kill "$job" 2>/dev/null; done; true' EXIT
  cargo build --release -p hookline-server >target/server-lib-build.log 2>&1 &
  local lib_pid=$!
  build_site
  wait "$lib_pid" || { cat target/server-lib-build.log; echo "the server library failed to build" >&2; exit 1; }
  build_server
  step "built in $(elapsed "$start")"
}

mkdir -p target
case "${1:-all}" in
  all) build_all ;;
  site) build_site ;;
  server) build_server ;;
  *) echo "usage: $0 [all|site|server]" >&2; exit 2 ;;
esac
