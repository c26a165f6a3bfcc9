# hrv-sentinel: one obvious way to run things.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster
export HRV_INBOX_DIR ?= inbox
export HRV_SOURCES_DIR ?= sources
export HRV_DATA_DIR ?= data

.PHONY: install run watch demo test test-fast test-compose bench bench-forecast lint format lock clean

install: $(STAMP)  ## create .venv and install the locked dependencies

$(STAMP): requirements.lock Makefile
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version' \
		|| { echo "hrv-sentinel needs Python 3.11 (set PYTHON=/path/to/python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	@# the project itself, as an editable install would: the repo on the venv's path,
	@# and the hrv-sentinel command in .venv/bin/
	echo "$(CURDIR)" > $(VENV)/lib/python3.11/site-packages/hrv_sentinel.pth
	printf '#!/bin/sh\nexec "%s" -m hrv.cli.main "$$@"\n' "$(CURDIR)/$(BIN)/python" > $(BIN)/hrv-sentinel
	chmod +x $(BIN)/hrv-sentinel
	touch $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: deploy/dagster.local.yaml
	mkdir -p $(DAGSTER_HOME)
	cp deploy/dagster.local.yaml $@

# Ctrl-C, or SIGTERM to make, stops the UI, the daemon and the watcher together (hrv/cli/serve.py)
run: install $(DAGSTER_HOME)/dagster.yaml  ## Dagster UI + daemon on http://127.0.0.1:3000 (HRV_WEB_PORT), plus the inbox watcher
	mkdir -p $(HRV_INBOX_DIR) $(HRV_SOURCES_DIR) $(HRV_DATA_DIR)
	$(BIN)/python -m hrv.cli.serve

watch: install  ## only the inbox watcher: instant accepted/rejected feedback per dropped file
	$(BIN)/python -m hrv.cli.watcher

demo: install  ## drop ~180 days of realistic journals and exports for 4 athletes
	$(BIN)/python -m hrv.cli.demo

# The suite runs in parallel: end-to-end tests mostly wait on real daemons, so 3 workers
# share 2 cores well; each test module (and its daemon) stays on one worker.
test: install  ## the whole suite (what CI runs): unit, fuzzing, end-to-end, PostgreSQL
	$(BIN)/python -m pytest -n 3 --dist loadfile

test-fast: install  ## the fast unit tests (about 20 s)
	$(BIN)/python -m pytest -n 2 -m "not e2e and not slow"

test-compose: install  ## the compose stack on a real Docker engine (engine, client, base images set up if missing)
	bash deploy/engine.sh
	HRV_TEST_COMPOSE=1 $(BIN)/python -m pytest tests/compose -p no:xdist -v

bench: install  ## ours vs the stock design on the real daemon: table + benchmarks/results.json
	$(BIN)/python -m benchmarks.run

bench-forecast: install  ## forecast quality on real nightly series, replayed (about 10 min)
	$(BIN)/python -m benchmarks.forecast_quality --last 120

lint: install  ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy hrv assets resources sensors alerts definitions.py

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lock:  ## re-resolve pinned dependencies after editing pyproject.toml (needs uv)
	$(BIN)/pip install --quiet uv==0.13.8
	$(BIN)/uv lock
	$(BIN)/uv export --frozen --format requirements-txt --all-groups --no-emit-project -o requirements.lock
	$(BIN)/uv export --frozen --format requirements-txt --no-dev --no-emit-project -o requirements-runtime.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
