# Two entry points for a fresh machine (Python 3.11+, Java 17+):
#   make demo   set up, generate a small day, run the pipeline, say how to open the dashboard
#   make test   set up, then run the whole test suite (unit, integration, e2e, browser)
# Both create or reuse .venv and reinstall only when pyproject.toml changed.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.pdbi-installed
# the scripts and styles of the Data Docs, from npm, so the docs work offline (tasks/quality/assets.py)
DOCS_ASSETS := tasks/quality/docs_assets
ASSETS_STAMP := $(DOCS_ASSETS)/node_modules/.pdbi-installed
DAY ?= 2017-11-16
SCALE ?= 0.01
# pytest-xdist workers for `make test`, each a process of its own (a module's tests stay on one)
TEST_WORKERS ?= 2

.PHONY: demo test lint bench system-deps docs-assets clean-data

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("pdbi needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

system-deps:
	@bash scripts/system-deps.sh

$(ASSETS_STAMP): $(DOCS_ASSETS)/package.json $(DOCS_ASSETS)/package-lock.json
	npm ci --prefix $(DOCS_ASSETS) --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(ASSETS_STAMP)

docs-assets: $(ASSETS_STAMP)

demo: $(STAMP) system-deps $(ASSETS_STAMP)
	$(BIN)/pdbi generate --scale $(SCALE) --date $(DAY)
	$(BIN)/pdbi run --date $(DAY)
	@echo
	@echo "Open the dashboard:  $(BIN)/pdbi serve   then browse http://127.0.0.1:5006/"

test: $(STAMP) system-deps $(ASSETS_STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP) system-deps
	$(BIN)/python -m bench --scale $(SCALE)

clean-data:
	-$(BIN)/pdbi db stop
	rm -rf data
