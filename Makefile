# fabscope — two commands: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
PORT   ?= 8050
DB     ?= data/fabscope.duckdb
BIN    := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/data/dagster

.PHONY: demo test check bench lint refresh serve dagster clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

## demo: set up, refresh the warehouse from the bundled data, serve the dashboard on 127.0.0.1:$(PORT)
demo: $(VENV)/.installed
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/fabscope refresh --db $(DB)
	$(BIN)/fabscope serve --db $(DB) --port $(PORT)

## test: set up with the dev extras and run the whole pytest suite (browser tests in headless Chromium)
test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2 -m "not browser"
	$(BIN)/pytest --headless -m browser

## check: the fast loop: ruff and every test not marked slow or browser, in parallel
check: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -n 2 -m "not slow and not browser"

## bench: run every benchmark in bench/ and print ratios against same-run baselines
bench: $(VENV)/.installed-dev
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

refresh: $(VENV)/.installed
	$(BIN)/fabscope refresh --db $(DB)

serve: $(VENV)/.installed
	$(BIN)/fabscope serve --db $(DB) --port $(PORT)

## dagster: the Dagster UI on the same instance and warehouse as the CLI
dagster: $(VENV)/.installed-dev
	mkdir -p $(DAGSTER_HOME)
	DAGSTER_HOME=$(abspath $(DAGSTER_HOME)) FABSCOPE_DB=$(abspath $(DB)) $(BIN)/dagster dev -m pipelines.definitions

clean:
	rm -rf $(VENV) data/fabscope.duckdb* data/.fabscope.duckdb.staging
