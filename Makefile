# Hookline's commands. `make run` and `make test` install whatever is missing first
# (scripts/bootstrap.sh), so they work on a fresh machine; later runs skip straight to the build.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
TOOLCHAIN := source .toolchain/env

.PHONY: run build test test-fast lint e2e e2e-unleash bench dist openapi unleash-fixture bootstrap clean

## run: install what is missing, build the release, start Hookline on http://127.0.0.1:3000
run: build
	$(TOOLCHAIN) && exec scripts/run.sh

## build: target/release/hookline, one binary with the site (JS, WASM, CSS) embedded
build: bootstrap
	$(TOOLCHAIN) && scripts/build.sh

## test: install what is missing, then formatting, clippy, the release site, unit + integration
## tests on the release build, and the browser tests against the release binary run alone
test:
	scripts/bootstrap.sh --test
	$(TOOLCHAIN) && scripts/test.sh all

## test-fast: formatting, clippy, unit and integration tests (debug build, no WASM, no browser)
test-fast: bootstrap
	$(TOOLCHAIN) && scripts/test.sh fast

## e2e: build the release, then only the browser tests
e2e: build
	scripts/bootstrap.sh --test
	$(TOOLCHAIN) && scripts/test.sh e2e

## e2e-unleash: the real Unleash (unleash-server from npm, on a throw-away PostgreSQL) with its Webhook
## addon and Hookline's catch-up poller: a few hundred flag changes, each Unleash event at the receiver
## exactly once (about 4 minutes; not part of `make test`). HOOKLINE_BIN=path uses that binary.
e2e-unleash: bootstrap
	$(TOOLCHAIN) && scripts/e2e-unleash.sh

## lint: formatting and clippy
lint: bootstrap
	$(TOOLCHAIN) && scripts/test.sh lint

## bench: template rendering and end-to-end delivery benchmarks (release builds)
bench: bootstrap
	$(TOOLCHAIN) && scripts/bench.sh

## dist: dist/hookline-<version>-x86_64-linux.tar.gz (binary, systemd unit, example settings)
dist: build
	$(TOOLCHAIN) && scripts/dist.sh

## openapi: rewrite docs/openapi.json from the code (a test fails while it differs from what the server serves)
openapi: bootstrap
	$(TOOLCHAIN) && cargo run -q -p hookline -- openapi >docs/openapi.json.new
	mv docs/openapi.json.new docs/openapi.json
	@echo "docs/openapi.json rewritten: review 'git diff docs/openapi.json' and commit it"

## unleash-fixture: re-record Unleash 7.5.1's eventMarkdown for the markdown test cases (needs node and npm)
unleash-fixture: bootstrap
	$(TOOLCHAIN) && cargo run -q -p hookline-core --example unleash_markdown_cases
	cd tools/unleash-md && npm ci && node gen-fixture.mjs

bootstrap:
	scripts/bootstrap.sh

clean:
	cargo clean
	rm -rf dist
