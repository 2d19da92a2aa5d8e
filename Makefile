# The two commands of the README:
#   make demo  - set up, generate the embedded demo data, `dbt build` on it, say where the marts are
#   make test  - set up, then every check: ruff, SQLFluff, pytest (which runs the dbt builds, dbt data
#                tests and dbt unit tests on fixtures and demo data)
# Both need nothing but Python 3.10+ on the machine.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_CUSTOMERS ?= 5000
DEMO_SEED ?= 42
DEMO_DIR ?= data/demo
DB ?= segmentation.duckdb
STAMP := $(VENV)/.installed

.PHONY: setup demo demo-data test lint pytest docs bench clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

demo-data: setup
	$(BIN)/python -m tools.demo_data --out $(DEMO_DIR) --customers $(DEMO_CUSTOMERS) --seed $(DEMO_SEED)

demo: demo-data
	SEGMENTATION_DB_PATH=$(DB) $(BIN)/dbt build
	@echo
	@echo "Marts built in $(DB) and published for BI tools to $(basename $(DB)).serving.duckdb (schema 'marts')."
	@echo "Point dashboards at the serving file: a build never locks it. Try:"
	@echo "  $(BIN)/python -c \"import duckdb; con = duckdb.connect('$(basename $(DB)).serving.duckdb', read_only=True); print(con.sql('select as_of_date, last_published_at, latest_build_status from marts.build_status'))\""

lint: demo-data
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SEGMENTATION_DB_PATH=$$(mktemp -d)/lint.duckdb $(BIN)/sqlfluff lint models tests/dbt --processes 2

pytest: demo-data
	$(BIN)/python -m pytest

test: lint pytest

docs: demo-data
	SEGMENTATION_DB_PATH=$(DB) $(BIN)/dbt docs generate
	@echo "Open target/index.html, or run: $(BIN)/dbt docs serve"

bench: setup
	$(BIN)/python bench/bench_demo_data.py 1000000

clean:
	rm -rf target logs $(DB) data .pytest_cache
