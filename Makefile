# Supportdesk: `make run` to try it, `make test` to test it. `make help` lists the rest.
#
# Everything runs from .venv (created on first use), installed from the lock file
# requirements/dev.lock (exact versions and hashes, generated from pyproject.toml by `make lock`);
# it is reinstalled only when the lock changes (the stamp file .venv/.installed remembers the last
# install). The Dockerfile installs requirements/prod.lock, the runtime half.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# One resolution for every platform and Python the project supports (requires-python).
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --quiet --universal --python-version 3.10 --generate-hashes

# `make test` runs the suite against real services: these unless DATABASE_URL / REDIS_URL are set.
TEST_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/supportdesk)
TEST_REDIS_URL    ?= $(or $(REDIS_URL),redis://127.0.0.1:6379/1)
# The embedded smoke run: tests that need no service (see the markers in pyproject.toml).
EMBEDDED_MARKERS  ?= core

.DEFAULT_GOAL := help
.PHONY: help install lock run serve migrate seed test test-services test-embedded test-scale lint format clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The lock pins every package (hash-checked); the project itself adds none (--no-deps).
$(STAMP): requirements/dev.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

install: $(STAMP) ## Create .venv and install the locked dependencies and the project

# After editing the dependencies in pyproject.toml; commit the lock files with the change.
# Re-locking picks the newest versions pyproject.toml allows.
lock: $(STAMP) ## Re-resolve pyproject.toml into requirements/dev.lock and requirements/prod.lock
	$(UV_COMPILE) -o requirements/prod.lock
	$(UV_COMPILE) --extra dev -o requirements/dev.lock

migrate: $(STAMP) ## Apply migrations to the configured database
	$(BIN)/python manage.py migrate --noinput

seed: migrate ## Load the demo data (idempotent) and print the demo logins
	$(BIN)/python manage.py seed_demo

# daphne is in INSTALLED_APPS, so runserver serves ASGI (websockets included). With no
# DATABASE_URL / REDIS_URL set this is the embedded default: SQLite, in-memory layer, eager Celery.
run: seed ## Install, migrate, seed, print demo logins, serve on http://127.0.0.1:8000 (ASGI)
	$(BIN)/python manage.py runserver 127.0.0.1:8000

serve: $(STAMP) ## Serve on 0.0.0.0:8000 without migrating or seeding
	$(BIN)/python manage.py runserver 0.0.0.0:8000

test: test-services test-embedded ## The test command: full suite on PostgreSQL + Redis, then the embedded smoke run

# axe-core, injected into Chromium by the customer pages' accessibility test (pinned in package-lock.json).
node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

test-services: $(STAMP) node_modules/.installed ## Full suite against PostgreSQL and Redis (TEST_DATABASE_URL, TEST_REDIS_URL)
	DATABASE_URL='$(TEST_DATABASE_URL)' REDIS_URL='$(TEST_REDIS_URL)' $(BIN)/pytest $(PYTEST_ARGS)

# The scale-out shape on loopback (tests/scale): a streaming replica of the machine's PostgreSQL built
# with Debian's PostgreSQL 15 binaries, two Redis servers as Channels shards, Debian's HAProxy in front
# of several web processes (tests/scale/web.py), workers.
test-scale: $(STAMP) ## Tests marked `scale`: real replica, Redis shards, HAProxy and several web processes (TEST_DATABASE_URL, TEST_REDIS_URL)
	DATABASE_URL='$(TEST_DATABASE_URL)' REDIS_URL='$(TEST_REDIS_URL)' $(BIN)/pytest -m scale tests/scale $(PYTEST_ARGS)

# No services here by design: only `core` tests run, and in CI tests/conftest.py fails the run if
# one of the selected tests needed PostgreSQL, Redis or a worker.
test-embedded: $(STAMP) ## Tests marked `core` on the embedded default (SQLite, in-memory layer, eager)
	env -u DATABASE_URL -u REDIS_URL -u CELERY_TASK_ALWAYS_EAGER \
		$(BIN)/pytest -m '$(EMBEDDED_MARKERS)' $(PYTEST_ARGS)

lint: $(STAMP) ## ruff check + ruff format --check + the app layers (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean: ## Remove the virtualenv, the SQLite database and collected static files
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache
