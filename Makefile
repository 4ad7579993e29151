# Tongban — one task runner. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
STAMP := $(VENV)/.installed
AXE := $(VENV)/npm/node_modules/axe-core/axe.min.js

.DEFAULT_GOAL := help
.PHONY: help run test test-sqlite test-postgres lint fmt typecheck setup migrate demo clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml scripts/system-packages
	bash scripts/system-packages
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@# axe-core for the browser test's accessibility checks: installed, never committed.
	test -f $(AXE) || npm install --prefix $(VENV)/npm --no-save --no-audit --no-fund axe-core@4.14
	touch $(STAMP)

setup: $(STAMP) ## Create .venv and install every dependency (Python and Debian)

migrate: setup ## Apply database migrations
	$(PY) manage.py migrate --noinput

demo: migrate ## Load the demo data (idempotent)
	$(PY) manage.py load_demo

run: demo ## Set up and serve the node with demo data on http://127.0.0.1:$(PORT)
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

lint: setup ## ruff, Django's checks and missing migrations
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py check --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run

typecheck: setup ## mypy on the apps
	$(VENV)/bin/mypy core accounts catalog federation delivery licences cases portal console demo tongban

fmt: setup ## Format the code
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test-sqlite: setup ## The suite on SQLite
	env -u DATABASE_URL $(VENV)/bin/pytest -n 2 -q

test-postgres: setup ## The suite on PostgreSQL ($(PG_URL))
	bash scripts/ensure-postgres "$(PG_URL)"
	DATABASE_URL=$(PG_URL) $(VENV)/bin/pytest -n 2 -q

test: lint typecheck test-sqlite test-postgres ## Set up, lint, and run the whole suite on SQLite and PostgreSQL

clean: ## Remove the virtualenv and local databases
	rm -rf $(VENV) var/
