# Vendor Portal: everything a developer runs. `make` (or `make help`) lists the targets.
#
# Only python3.11 and make are needed: the first target that needs Python creates .venv and
# installs the locked dependencies; it re-installs only when requirements/lock.txt or
# pyproject.toml change. The environment is passed through (e.g. DATABASE_URL for `make test`).

.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK  := requirements/lock.txt

HOST ?= 127.0.0.1
PORT ?= 8000
# Extra arguments for pytest, e.g. `make test PYTEST_ARGS="-k receipts -x"`.
PYTEST_ARGS ?=
# How far `make test-shifted` moves the clock every Python process starts from, in days
# (+400d, -30d).
SHIFT ?= +365d

export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PIP_NO_INPUT := 1

.PHONY: help install run serve test test-shifted api-fuzz lint audit format migrate demo bench lock clean

help: ## List the targets
	@echo "Usage: make <target>"
	@echo
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "} {printf "  %-13s %s\n", $$1, $$2}'

# --- environment ---------------------------------------------------------------------------

$(BIN)/python:
	@py=""; \
	if command -v python3.11 >/dev/null 2>&1; then py=python3.11; \
	elif command -v python3 >/dev/null 2>&1 \
		&& python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then py=python3; \
	else echo "error: Python 3.11 is required (python3.11, or python3 being 3.11)." >&2; exit 1; fi; \
	echo "Creating $(VENV) with $$($$py -c 'import sys; print(sys.executable)')"; \
	$$py -m venv $(VENV) || { rm -rf $(VENV); \
		echo "error: '$$py -m venv' failed (on Debian/Ubuntu: apt-get install python3.11-venv)." >&2; \
		exit 1; }

$(STAMP): $(LOCK) pyproject.toml | $(BIN)/python
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
		echo "error: $(VENV) is not Python 3.11; remove it (rm -rf $(VENV)) and retry." >&2; exit 1; }
	$(BIN)/python -m pip install --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --no-deps -e .
	@touch $@

install: $(STAMP) ## Create .venv and install the locked dependencies (automatic)

# --- running -------------------------------------------------------------------------------

run: migrate ## Install, migrate, load the demo data and serve on http://127.0.0.1:8000
	$(BIN)/vendorportal demo
	@# The background worker (notifications, reminders, webhooks) runs beside the server and
	@# stops with it. Unless EMAIL_URL says otherwise, its e-mails are written to var/mail/.
	@mkdir -p "$${VENDORPORTAL_VAR_DIR:-var}/mail"; \
	EMAIL_URL="$${EMAIL_URL:-file://$$(cd "$${VENDORPORTAL_VAR_DIR:-var}/mail" && pwd)}" \
	SITE_URL="$${SITE_URL:-http://$(HOST):$(PORT)}" \
	$(BIN)/vendorportal db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/vendorportal serve --host $(HOST) --port $(PORT)

serve: $(STAMP) ## Serve with auto-reload, skipping migrate and demo data (development)
	$(BIN)/vendorportal serve --host $(HOST) --port $(PORT) --reload

migrate: $(STAMP) ## Apply database migrations
	$(BIN)/vendorportal migrate

demo: migrate ## Load the demo data (idempotent) and print the logins
	$(BIN)/vendorportal demo

# --- checks --------------------------------------------------------------------------------

test: $(STAMP) ## Run the test suite (SQLite, or the database in DATABASE_URL)
	@$(BIN)/pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "error: pytest collected no tests." >&2; fi; \
	exit $$status

# The suite pins its own clock (tests/clock.py); this proves that no test reads the real one,
# by moving the clock that pytest and every Python process it starts begin from (the server,
# the worker, commands) by SHIFT days, before anything is imported
# (tests/pinned_clock/sitecustomize.py). Not libfaketime: with a real monotonic clock it makes
# Python's sleep fail (EINVAL from clock_nanosleep), and with a faked one the live tests hang.
test-shifted: $(STAMP) ## Run the test suite with the clock moved by SHIFT days (default +365d)
	@days='$(SHIFT)'; days=$${days%d}; \
	case "$$days" in [+-][0-9]*|[0-9]*) ;; *) echo "error: SHIFT is days, e.g. +365d or -30d." >&2; exit 2;; esac; \
	export VENDORPORTAL_TEST_SHIFT_SECONDS=$$(( $$days * 86400 )); \
	export PYTHONPATH="$(CURDIR)/tests/pinned_clock$${PYTHONPATH:+:$$PYTHONPATH}"; \
	echo "Clock moved by $(SHIFT): Python starts on $$($(BIN)/python -c 'import datetime; print(datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"))')"; \
	$(BIN)/pytest $(PYTEST_ARGS); \
	status=$$?; if [ $$status -eq 5 ]; then echo "error: pytest collected no tests." >&2; fi; \
	exit $$status

api-fuzz: $(STAMP) ## schemathesis against the API on a live demo server (API_FUZZ_EXAMPLES=50)
	$(BIN)/python tests/api_fuzz.py

lint: $(STAMP) ## ruff check, ruff format --check and mypy (runs all three, fails if any fails)
	@status=0; \
	echo "+ ruff check";          $(BIN)/ruff check || status=1; \
	echo "+ ruff format --check"; $(BIN)/ruff format --check || status=1; \
	echo "+ mypy vendorportal";   $(BIN)/mypy vendorportal || status=1; \
	exit $$status

audit: $(STAMP) ## bandit (fails on high findings) and pip-audit of requirements/lock.txt
	$(BIN)/python scripts/audit.py

format: $(STAMP) ## Sort imports and format the code with ruff
	$(BIN)/ruff check --select I --fix
	$(BIN)/ruff format

bench: $(STAMP) ## Run every bench/*.py script (they print their figures)
	@shopt -s nullglob; scripts=(bench/*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "No benchmarks in bench/."; exit 0; fi; \
	for script in "$${scripts[@]}"; do \
		echo "==> $$script"; $(BIN)/python "$$script" || exit 1; \
	done

# --- maintenance ---------------------------------------------------------------------------

lock: | $(BIN)/python ## Regenerate requirements/lock.txt from pyproject.toml with uv
	$(BIN)/python -m pip install uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 \
		--generate-hashes -o $(LOCK)
	@# pip-audit asks for CacheControl[filecache]; without the extra on the pinned line, pip
	@# (in --require-hashes mode) looks for the newest CacheControl and refuses it as unpinned.
	sed -i -E 's/^cachecontrol==/cachecontrol[filecache]==/' $(LOCK)

clean: ## Remove caches and build output (keeps .venv and var/, the local database)
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis test-artifacts staticfiles
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
