# Hookline's commands. `make run` and `make test` install whatever is missing first
# (scripts/bootstrap.sh), so they work on a fresh machine; later runs skip straight to the build.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
TOOLCHAIN := source .toolchain/env

.PHONY: run build test test-fast lint bench e2e bootstrap clean

## run: install what is missing, build the release, start Hookline on http://127.0.0.1:3000
run: build
	@mkdir -p data
	@echo "Starting Hookline on http://$${HOOKLINE_ADDR:-127.0.0.1:3000} (data in ./data; Ctrl-C stops it)."
	$(TOOLCHAIN) && exec target/release/hookline serve

## build: the release server binary target/release/hookline and the site in target/site
build: bootstrap
	$(TOOLCHAIN) && cargo leptos build --release

## test: install what is missing, then formatting, clippy, unit + integration tests, browser tests
test:
	scripts/bootstrap.sh --test
	$(TOOLCHAIN) && scripts/test.sh all

## test-fast: formatting, clippy, unit and integration tests (no WASM build, no browser)
test-fast: bootstrap
	$(TOOLCHAIN) && scripts/test.sh fast

## e2e: only the browser tests
e2e:
	scripts/bootstrap.sh --test
	$(TOOLCHAIN) && scripts/test.sh e2e

## lint: formatting and clippy
lint: bootstrap
	$(TOOLCHAIN) && scripts/test.sh lint

## bench: template rendering and end-to-end delivery benchmarks (release builds)
bench: bootstrap
	$(TOOLCHAIN) && scripts/bench.sh

bootstrap:
	scripts/bootstrap.sh

clean:
	cargo clean
