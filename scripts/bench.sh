#!/usr/bin/env bash
# Hookline's end-to-end delivery benchmark: builds the release `hookline` binary and the `bench`
# crate, then runs `target/release/bench` with the arguments given (`scripts/bench.sh --help`).
# Typical runs:
#   scripts/bench.sh --events 20000 --webhooks 1   # throughput to one webhook
#   scripts/bench.sh --events 10000 --webhooks 5   # fan-out
#   scripts/bench.sh --rate 200 --events 4000      # latency at a fixed rate
#   scripts/bench.sh logpage                       # the log pages with 1,000,000 deliveries
#   scripts/bench.sh render                        # template rendering (criterion)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ -f .toolchain/env ]]; then
  # shellcheck source=/dev/null
  source .toolchain/env
fi
if [[ "${1:-}" == render ]]; then
  shift
  exec cargo bench -p bench --bench render -- "$@"
fi
# `--bin` filters apply to every selected package, so every binary is named.
# The site is embedded when it has been built (scripts/build.sh); the benchmarks do not need it.
[[ -f target/site/pkg/hookline.wasm ]] && export HOOKLINE_SITE_DIR="$PWD/target/site"
cargo build --release -p hookline -p bench --bin hookline --bin bench --bin logpage
if [[ "${1:-}" == logpage ]]; then
  shift
  exec target/release/logpage "$@"
fi
exec target/release/bench "$@"
