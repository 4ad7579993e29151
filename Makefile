# Tongban — one task runner. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
STAMP := $(VENV)/.installed
AXE := $(VENV)/npm/node_modules/axe-core/axe.min.js
# Apache ECharts for the supervision dashboards: from npm, copied into the app's static
# files (served by the node, never fetched from elsewhere by the browser); not committed.
ECHARTS := supervision/static/supervision/vendor/echarts.min.js
# Real node processes and a headless browser: slow, and independent of the database the
# suite runs on, so they run once, in the SQLite pass.
NOT_SLOW := -m "not nodes and not browser"
# The quick lane while working: neither those nor the bounded fuzzing of the whole API.
FAST := -m "not nodes and not browser and not fuzz"
# The public demo values (DEBUG=1 and the three keys) for the commands that need settings
# but are no real node: lint here, `make run` sets them itself (scripts/run-nodes) and the
# tests through tests/settings.py. A real node sets its own (docs/deploy.md).
DEMO_ENV := set -a && . scripts/demo.env && set +a &&
PYTEST := $(VENV)/bin/pytest -n 2 -q

.DEFAULT_GOAL := help
.PHONY: help run run-prod run-node stop-node start-node test test-fast test-sqlite test-postgres lint fmt typecheck setup clean bench

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml scripts/system-packages
	bash scripts/system-packages
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@# axe-core for the browser test's accessibility checks: installed, never committed.
	@# ECharts for the dashboards, in the same npm folder (an install there with --no-save
	@# keeps only what it names, so both are named each time).
	test -f $(AXE) -a -f $(VENV)/npm/node_modules/echarts/dist/echarts.min.js || npm install --prefix $(VENV)/npm --no-save --no-audit --no-fund axe-core@4.14 echarts@5.6.0
	touch $(STAMP)

$(ECHARTS): $(STAMP)
	test -f $(VENV)/npm/node_modules/echarts/dist/echarts.min.js || npm install --prefix $(VENV)/npm --no-save --no-audit --no-fund axe-core@4.14 echarts@5.6.0
	mkdir -p $(dir $(ECHARTS)) && cp $(VENV)/npm/node_modules/echarts/dist/echarts.min.js $(ECHARTS)

setup: $(STAMP) $(ECHARTS) ## Create .venv and install every dependency (Python, Debian, npm)

run: setup ## Set up and start the four federated demo nodes on ports PORT…PORT+3 (PORT=8000)
	$(PY) scripts/run-nodes --base-port $(PORT)

run-prod: setup ## One node the production way: gunicorn, worker, PostgreSQL tongban_prod, own keys (docs/deploy.md)
	PORT=$(PORT) bash scripts/run-prod

run-node: setup ## Start one node alone, outside the federation: make run-node NODE=jilin PORT=8001
	$(PY) scripts/run-nodes --node $(or $(NODE),liaoning) --base-port $(PORT)

stop-node: setup ## In a running make run, stop one node (the others go on): make stop-node NODE=jilin
	$(PY) scripts/run-nodes --stop-node $(NODE)

start-node: setup ## In a running make run, start a stopped node again: make start-node NODE=jilin
	$(PY) scripts/run-nodes --start-node $(NODE)

lint: setup ## ruff, Django's checks and missing migrations
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(DEMO_ENV) $(PY) manage.py check --fail-level WARNING
	$(DEMO_ENV) $(PY) manage.py makemigrations --check --dry-run

typecheck: setup ## mypy on the apps
	$(VENV)/bin/mypy core accounts catalog federation delivery payments halls licences sharing signon cases hotline ratings supervision portal console demo bench tongban

fmt: setup ## Format the code
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test-sqlite: setup ## The whole suite on SQLite, real-node and browser tests included
	env -u DATABASE_URL $(PYTEST)

test-postgres: setup ## The suite on PostgreSQL ($(PG_URL)) but the real-node and browser tests
	bash scripts/ensure-postgres "$(PG_URL)"
	DATABASE_URL=$(PG_URL) $(PYTEST) $(NOT_SLOW)

test: lint typecheck test-sqlite test-postgres ## Set up, lint, and run the whole suite on SQLite and PostgreSQL (the full gate, CI's)

test-fast: lint typecheck ## Lint, types, and every test but the real-node, browser and fuzzing ones, on SQLite
	env -u DATABASE_URL $(PYTEST) $(FAST)

BENCH_SECONDS ?= 60
BENCH_SCALE ?= full
bench: setup ## Measure one node (gunicorn, PostgreSQL tongban_bench, the worker): BENCH_SECONDS=60 BENCH_SCALE=full|small
	BENCH_COMMAND="make bench BENCH_SECONDS=$(BENCH_SECONDS) BENCH_SCALE=$(BENCH_SCALE)$(if $(BENCH_WORKERS), BENCH_WORKERS=$(BENCH_WORKERS))" \
	  $(PY) scripts/bench --seconds $(BENCH_SECONDS) --scale $(BENCH_SCALE) \
	  $(if $(BENCH_WORKERS),--workers $(BENCH_WORKERS)) $(if $(BENCH_DATABASE),--database $(BENCH_DATABASE))

clean: ## Remove the virtualenv and local databases
	rm -rf $(VENV) var/
