# Every target CI runs is here, so a green `make ci` locally means a green CI.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Development defaults; override in the environment.
export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/orgd
export ORGD_JWT_SECRET ?= dev-only-secret-do-not-deploy-0123456789abcdef
export ORGD_HMAC_KEY ?= dev-only-hmac-key-do-not-deploy-0123456789abcdef
export ORGD_ENCRYPTION_KEY ?= 00000000000000000000000000000000000000000000000000000000000000de

STANDARDWEBHOOKS_VERSION := 1.3.0
SCHEMATHESIS_VERSION := 4.32.5
SCIM2_CLI_VERSION := 0.6.0
SCIM2_TESTER_VERSION := 0.5.2
OPENAPI_PYTHON_CLIENT_VERSION := 0.29.1
MYPY_VERSION := 2.4.1
# The Python tools of sdk-check live apart from the system's, whose packages (schemathesis's
# among them) they would otherwise upgrade.
SDK_VENV := $(abspath $(or $(CARGO_TARGET_DIR),target)/sdk-venv)

FORBIDDEN_IN_DOMAIN := diesel|diesel_migrations|actix-web|actix-rt|tokio|r2d2|utoipa|validator

.PHONY: help run release test test-deps contract chaos fuzz scim-compliance readme-check sdk-check fmt lint check-domain domain-package-check openapi schema-check ci token bench bench-quick bench-all bench-authz bench-gate bench-members bench-audit bench-scim bench-governance bench-webhooks

help: ## List targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-21s %s\n", $$1, $$2}'

run: ## Start the service on 127.0.0.1:8080 (creates and migrates its database)
	cargo run -p orgd -- serve

release: ## Build the release binary target/release/orgd, with the Dockerfile's command
	cargo build --release --locked -p orgd --bin orgd

test: test-deps ## Run every test (unit, doc and black-box HTTP against PostgreSQL)
	cargo test --workspace --all-features

test-deps: ## What the tests need beyond Rust: a real SMTP server (Python aiosmtpd) for email delivery tests, a webhook receiver verifying signatures independently (Python standardwebhooks), the contract fuzzer (schemathesis) and its DNS server (dnslib), the SCIM compliance suite (scim2-tester)
	@python3 -c 'import aiosmtpd' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore aiosmtpd
	@python3 -c 'import dnslib' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore dnslib
	@python3 -c 'import standardwebhooks' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore 'standardwebhooks==$(STANDARDWEBHOOKS_VERSION)'
	@python3 -c 'import importlib.metadata as m, sys; sys.exit(m.version("schemathesis") != "$(SCHEMATHESIS_VERSION)")' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore 'schemathesis==$(SCHEMATHESIS_VERSION)'
	@python3 -c 'import importlib.metadata as m, sys; sys.exit(m.version("scim2-tester") != "$(SCIM2_TESTER_VERSION)" or m.version("scim2-cli") != "$(SCIM2_CLI_VERSION)")' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore 'scim2-cli==$(SCIM2_CLI_VERSION)' 'scim2-tester==$(SCIM2_TESTER_VERSION)'

contract: test-deps ## Fuzz the served OpenAPI document with schemathesis, every check, fixed seed (~3 min)
	tests/contract/run.sh

fuzz: ## Fuzz every parser of client input (ids, tokens, SCIM filters and paths, LLM names) from tests/fuzz/corpus.txt, FUZZ_SECONDS (60) per target
	set -o pipefail; FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60) cargo test -p orgd-domain --release --test fuzz -- --nocapture 2>&1 | grep -E '^fuzz:|test result|panicked'

chaos: ## Restart the machine's PostgreSQL under a stream of writes: 503s, recovery, nothing acknowledged lost (not in make test: it stops every other test's database too)
	cargo test -p orgd --test api -- --ignored --nocapture faults::

scim-compliance: test-deps ## Run the independent SCIM 2.0 compliance suite (scim2-tester) against /scim/v2 of a real server
	tests/scim/run.sh

token: ## Print a dev token: make -s token SUB=alice EMAIL=alice@example.com ARGS='--ttl 5m --mfa --staff --name Alice'
	@$(foreach v,TTL MFA STAFF NAME,$(if $(filter command line,$(origin $(v))),echo "make token: $(v)= is not read; pass flags in ARGS (as in ARGS='--ttl 5m --mfa')" >&2; exit 2;))
	@cargo run -q -p orgd -- token --sub "$(or $(SUB),alice)" --email "$(or $(EMAIL),alice@example.com)" $(ARGS)

readme-check: ## Follow the README's quick start and examples against a real server (fresh database, free port)
	bash tests/readme_quickstart.sh

sdk-check: ## Generate a Python and a TypeScript client from docs/openapi.json, type-check their scenarios strictly and run each against a real server (~20 s once built; ORGD_BIN=path serves that binary instead of the debug build)
	@[ -x $(SDK_VENV)/bin/python ] || python3 -m venv $(SDK_VENV)
	@$(SDK_VENV)/bin/python -c 'import importlib.metadata as m, sys; sys.exit(m.version("openapi-python-client") != "$(OPENAPI_PYTHON_CLIENT_VERSION)" or m.version("mypy") != "$(MYPY_VERSION)")' 2>/dev/null \
		|| $(SDK_VENV)/bin/pip install --quiet --disable-pip-version-check 'openapi-python-client==$(OPENAPI_PYTHON_CLIENT_VERSION)' 'mypy==$(MYPY_VERSION)'
	@cd tests/sdk/typescript && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; }
	SDK_PYTHON=$(SDK_VENV)/bin/python bash tests/sdk/run.sh

fmt: ## Format the code
	cargo fmt --all

lint: ## Formatting and clippy, warnings denied
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings

check-domain: ## The domain crate must not depend on infrastructure
	@if cargo tree -p orgd-domain -e normal --prefix none | grep -E '^($(FORBIDDEN_IN_DOMAIN)) '; then \
		echo "orgd-domain depends on infrastructure (above); keep it pure"; exit 1; \
	else echo "orgd-domain is free of $(FORBIDDEN_IN_DOMAIN)"; fi

# --allow-dirty: the check is that the crate builds from its packaged files, not that the tree
# is ready to publish.
domain-package-check: ## orgd-domain as a library: docs build with no warning, its example runs, and it builds from its packaged files alone
	RUSTDOCFLAGS='-D warnings' cargo doc -p orgd-domain --no-deps
	cargo run -q -p orgd-domain --example check_permissions
	cargo package -p orgd-domain --locked --allow-dirty

openapi: ## Regenerate docs/openapi.json from the code
	@cargo run -q -p orgd -- openapi > docs/openapi.json.tmp && mv docs/openapi.json.tmp docs/openapi.json \
		|| { rm -f docs/openapi.json.tmp; exit 1; }

schema-check: ## The committed diesel schema matches the migrations
	@command -v diesel >/dev/null || { echo "needs diesel_cli: cargo install diesel_cli --no-default-features --features postgres --locked"; exit 1; }
	@export PGOPTIONS=--client-min-messages=warning; db=orgd_schema_check_$$$$; base=$${DATABASE_URL%/*}; \
	psql "$$base/postgres" -qc "DROP DATABASE IF EXISTS $$db" && psql "$$base/postgres" -qc "CREATE DATABASE $$db" && \
	DATABASE_URL="$$base/$$db" cargo run -q -p orgd -- migrate >/dev/null && \
	DATABASE_URL="$$base/$$db" diesel print-schema > /tmp/$$db.rs; status=$$?; \
	psql "$$base/postgres" -qc "DROP DATABASE IF EXISTS $$db"; [ $$status -eq 0 ] || exit $$status; \
	if diff -u crates/infra/src/postgres/schema.rs /tmp/$$db.rs; then echo "schema.rs matches the migrations"; \
	else echo "schema.rs is stale: run diesel print-schema against a migrated database"; exit 1; fi

bench: ## The request path under load (release build, wrk, pgbench, statement counts, PgBouncer): one table, written to docs/benchmarks.md (~10 min)
	bench/run.sh full

bench-quick: ## The same on 100,000 members and 200,000 audit records with 2 s runs, printed only (~2 min)
	bench/run.sh quick

bench-all: bench-authz bench-gate bench-members bench-audit bench-scim bench-governance bench-webhooks ## Every component benchmark, printing its figures

bench-authz: ## Time of one authorization decision in the domain (criterion)
	cargo bench -p orgd-domain --bench authorize -- --noplot 2>&1 | grep -E '^(authorize|may_grant|permission map)|time:'

bench-gate: ## Per-request cost of the policy gate: the check itself (criterion), and entering an org with vs without its policies (pgbench, ~30 s)
	cargo bench -p orgd-domain --bench authorize -- --noplot gate 2>&1 | grep -E '^gate|time:'
	@export PGOPTIONS=--client-min-messages=warning; db=orgd_bench_gate; base=$${DATABASE_URL%/*}; \
	psql "$$base/postgres" -qc "DROP DATABASE IF EXISTS $$db" && psql "$$base/postgres" -qc "CREATE DATABASE $$db" && \
	DATABASE_URL="$$base/$$db" cargo run -q -p orgd -- migrate >/dev/null && psql "$$base/$$db" -q -f bench/gate.sql && \
	for script in gate_org_only gate_org_with_policies; do \
		printf '%-26s ' "$$script:"; pgbench -n -M prepared -c 4 -j 2 -T 10 -f bench/$$script.sql "$$base/$$db" 2>/dev/null \
			| awk '/latency average/ { lat = $$4 } /^tps/ { tps = $$3 } END { printf "%8.0f statements/s, %s ms average latency, 1 statement per request\n", tps, lat }'; \
	done; status=$$?; psql "$$base/postgres" -qc "DROP DATABASE IF EXISTS $$db"; exit $$status

bench-audit: ## Audit log at 1,000,000 records: newest page, filtered page, full verification (~3 min)
	cargo bench -p orgd-infra --bench audit_log

bench-scim: ## SCIM through the real server: provisioning 10,000 users one by one, then paging a 100,000-member directory (~3 min)
	cargo bench -p orgd --bench scim_directory 2>&1 | grep -vE '^ +(Compiling|Running|Finished)'

bench-governance: ## LLM checks and usage ingest through the real server (req/s, p50, p99 against /healthz and bare inserts), the dashboard at 1,000,000 members (~3 min)
	cargo bench -p orgd --bench governance 2>&1 | grep -vE '^ +(Compiling|Running|Finished)'

bench-webhooks: test-deps ## 500 changes delivered as signed webhooks to a verifying receiver on loopback: deliveries/s and commit-to-receipt lag (~1 min)
	cargo test -q -p orgd --release --test api -- --ignored --nocapture webhooks::delivery_throughput_and_lag 2>&1 | grep -E '^webhooks:|test result|panicked'

bench-members: ## Query plans and timings of member listing in an org of 1,000,000 members (~1 min)
	@export PGOPTIONS=--client-min-messages=warning; db=orgd_bench_members; base=$${DATABASE_URL%/*}; \
	psql "$$base/postgres" -qc "DROP DATABASE IF EXISTS $$db" && psql "$$base/postgres" -qc "CREATE DATABASE $$db" && \
	DATABASE_URL="$$base/$$db" cargo run -q -p orgd -- migrate >/dev/null && \
	psql "$$base/$$db" -q -f bench/members_at_scale.sql | grep -E '^(===|Time:| Execution Time)'; status=$$?; \
	psql "$$base/postgres" -qc "DROP DATABASE IF EXISTS $$db"; exit $$status

ci: lint check-domain schema-check test readme-check sdk-check contract scim-compliance ## What CI runs
