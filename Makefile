# x-msrv — top-level tasks. `make demo` and `make test` are the two entry points the
# README promises work on a fresh machine; everything else is a building block.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo

.PHONY: all build deps demo test bench faults fuzz lint unit standin-check packages deb rpm package-check \
        systemd-test up down clean help

all: build

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

build: ## Build x-msrv and the dev stack (release)
	$(CARGO) build --release --workspace --bins --locked

deps: ## Install what the tests need (apt, pip); idempotent, quick when present
	scripts/install-deps

demo: build ## Start the stand-ins, send test messages, run one batch, show what was stored
	test/demo

test: deps ## Every test: lint, unit + integration, third-party clients, packages, systemd
	scripts/test-all

bench: build ## Throughput, CPU/msg, peak RSS against the stand-ins, beside the ceilings (figures, not a test; BENCH_ARGS=--quick)
	$(CARGO) build --release --example bench_tool --locked
	scripts/bench $(BENCH_ARGS)

faults: ## The fault suite's long mode: hundreds of random SIGTERM/SIGKILL runs and every fault scenario, with its table (FAULTS_ARGS="--seed N" repeats one)
	$(CARGO) test --locked --test faults -- --long $(FAULTS_ARGS)

fuzz: ## cargo-fuzz: the record stage and the NSQ frame decoder, FUZZ_SECONDS (120) each, from fuzz/corpus/; fails with the crashing input
	scripts/fuzz

lint: ## rustfmt + clippy, as CI runs them (the fuzz crate included: not built by `make test` otherwise)
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml -- --check
	$(CARGO) clippy --manifest-path fuzz/Cargo.toml --locked -- -D warnings

unit: ## Rust unit + integration tests (stand-ins over real sockets)
	$(CARGO) test --workspace --locked

standin-check: build ## The stand-ins checked with Python clients (pynsq, aerospike) and curl
	test/standin-check

deb: ## Build dist/x-msrv_<version>_<arch>.deb natively (installs debhelper, dpkg-dev, jq when missing)
	scripts/install-deps deb
	deb-build/build

rpm: ## Build dist/x-msrv-<version>-1.<arch>.rpm natively (installs rpm, binutils, jq when missing)
	scripts/install-deps rpm
	rpm-build/build

packages: deb rpm

package-check: packages ## lintian, rpmlint, man page, systemd-analyze security, compose file
	test/packaging/check

systemd-test: deb build ## Boot Debian in systemd-nspawn, install the .deb, drive the timer
	test/systemd/run

up: ## docker compose up (needs a Docker engine; not available on the dev machines)
	docker compose up -d --build

down: ## docker compose down
	docker compose down

clean:
	$(CARGO) clean
	rm -rf dist
