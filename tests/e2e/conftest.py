"""Fixture data folders and the builds on them, shared by the end-to-end tests (built once a session)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.csv
import pytest

from tests.e2e.dbt_runner import Build, dbt_build
from tools import demo_data

# The demo data exactly as `make demo` builds it (5,000 customers, seed 42), so what the tests assert
# about the models is what a user sees in marts.model_evaluation after `make demo`.
DEMO_CUSTOMERS = 5000
DEMO_SEED = 42


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """The demo data set with all seven raw tables, as parquet."""
    out = tmp_path_factory.mktemp("demo_raw")
    demo_data.write(out, n_customers=DEMO_CUSTOMERS, seed=DEMO_SEED, fmt="parquet")
    return out


@pytest.fixture(scope="session")
def demo_build(demo_dir, tmp_path_factory) -> Build:
    build = dbt_build(tmp_path_factory.mktemp("demo_build"), demo_dir)
    assert build.returncode == 0, build.output[-6000:]
    return build


@pytest.fixture(scope="session")
def transactions_only_dir(tmp_path_factory) -> Path:
    """Only transactions.csv, with the five columns most exports have."""
    out = tmp_path_factory.mktemp("transactions_only")
    data = demo_data.generate(n_customers=600, seed=11)
    table = data.tables["transactions"].select(
        ["transaction_id", "customer_id", "transacted_at", "amount", "quantity"]
    )
    pyarrow.csv.write_csv(table, out / "transactions.csv")
    return out


@pytest.fixture(scope="session")
def transactions_only_build(transactions_only_dir, tmp_path_factory) -> Build:
    build = dbt_build(tmp_path_factory.mktemp("transactions_only_build"), transactions_only_dir)
    assert build.returncode == 0, build.output[-6000:]
    return build
