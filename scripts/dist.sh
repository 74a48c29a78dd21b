#!/usr/bin/env bash
# Packs the release: dist/hookline-<version>-x86_64-linux.tar.gz with the binary (site embedded),
# LICENSE, a short README, an example settings file and a hardened systemd unit. Expects
# target/release/hookline from scripts/build.sh (`make dist` builds it first).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

version="$(sed -nE '/^\[workspace.package\]/,/^\[/ s/^version *= *"([^"]+)".*/\1/p' Cargo.toml)"
name="hookline-$version-$(uname -m)-linux"
[[ -x target/release/hookline ]] || { echo "no target/release/hookline: run scripts/build.sh" >&2; exit 1; }
# A binary built without the site would serve pages that never hydrate: refuse to ship it.
grep -qaE '/pkg/hookline\.[0-9a-f]{12}\.wasm' target/release/hookline ||
  { echo "target/release/hookline has no embedded site: build it with scripts/build.sh" >&2; exit 1; }

stage="dist/$name"
rm -rf "$stage" "dist/$name.tar.gz"
mkdir -p "$stage"
install -m 0755 target/release/hookline "$stage/hookline"
install -m 0644 LICENSE "$stage/LICENSE"
install -m 0644 packaging/README.md "$stage/README.md"
install -m 0644 packaging/hookline.env.example "$stage/hookline.env.example"
install -m 0644 packaging/hookline.service "$stage/hookline.service"

if command -v systemd-analyze >/dev/null 2>&1; then
  # Verify the unit as installed: ExecStart must name an executable, so point it at the staged one.
  check="$(mktemp -d)"
  sed "s|/usr/local/bin/hookline|$PWD/$stage/hookline|" packaging/hookline.service >"$check/hookline.service"
  # It exits 0 for directives it ignores ("Unknown key", "Failed to parse"): any remark fails.
  status=0
  out="$(systemd-analyze verify "$check/hookline.service" 2>&1)" || status=$?
  rm -rf "$check"
  if [[ $status -ne 0 || -n "$out" ]]; then
    echo "$out" >&2
    echo "systemd-analyze verify found problems in packaging/hookline.service" >&2
    exit 1
  fi
  echo "systemd-analyze verify: hookline.service is valid"
else
  echo "systemd-analyze not found: the unit was not verified" >&2
fi

tar -C dist -czf "dist/$name.tar.gz" "$name"
echo "dist/$name.tar.gz ($(du -h "dist/$name.tar.gz" | cut -f1)):"
tar -tvzf "dist/$name.tar.gz"
