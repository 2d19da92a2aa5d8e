"""Fixture data folders and the builds on them, shared by the end-to-end tests: each made once a test
session, by whichever pytest-xdist worker asks first, and read by every worker (the builds only read:
a test that builds again copies the warehouse first)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow.csv
import pytest
from filelock import FileLock

from tests.e2e.dbt_runner import Build, dbt_build
from tools import demo_data

# The demo data exactly as `make demo` builds it (5,000 customers, seed 42), so what the tests assert
# about the models is what a user sees in marts.model_evaluation after `make demo`.
DEMO_CUSTOMERS = 5000
DEMO_SEED = 42


@pytest.fixture(scope="session")
def shared_tmp(tmp_path_factory, worker_id: str) -> Path:
    """A folder of this test session that every xdist worker sees (the session's own without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


def once(shared: Path, name: str, make: Callable[[Path], None]) -> Path:
    """shared/name, filled by `make` once a session: by the first worker to ask, the others waiting for it
    (a `make` that raised leaves nothing, and the next asker tries again)."""
    folder, done = shared / name, shared / f"{name}.done"
    with FileLock(str(shared / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            done.touch()
    return folder


def built_once(shared: Path, name: str, raw: Path, unit_tests: bool = False) -> Build:
    """`dbt build` of the raw folder into shared/name once a session; every worker gets its outcome."""

    def build(work: Path) -> None:
        done = dbt_build(work, raw, unit_tests=unit_tests)
        (work / "outcome.json").write_text(json.dumps({"returncode": done.returncode, "output": done.output}))

    work = once(shared, name, build)
    outcome = json.loads((work / "outcome.json").read_text())
    return Build(outcome["returncode"], outcome["output"], work / "warehouse.duckdb")


@pytest.fixture(scope="session")
def demo_dir(shared_tmp) -> Path:
    """The demo data set with all seven raw tables, as parquet."""
    return once(
        shared_tmp,
        "demo_raw",
        lambda out: demo_data.write(out, n_customers=DEMO_CUSTOMERS, seed=DEMO_SEED, fmt="parquet"),
    )


@pytest.fixture(scope="session")
def demo_build(demo_dir, shared_tmp) -> Build:
    """`dbt build` on the demo data, as `make demo` runs it (the dbt unit tests included)."""
    build = built_once(shared_tmp, "demo_build", demo_dir, unit_tests=True)
    assert build.returncode == 0, build.output[-6000:]
    return build


def _transactions_only(out: Path) -> None:
    data = demo_data.generate(n_customers=600, seed=11)
    table = data.tables["transactions"].select(
        ["transaction_id", "customer_id", "transacted_at", "amount", "quantity"]
    )
    pyarrow.csv.write_csv(table, out / "transactions.csv")


@pytest.fixture(scope="session")
def transactions_only_dir(shared_tmp) -> Path:
    """Only transactions.csv, with the five columns most exports have."""
    return once(shared_tmp, "transactions_only", _transactions_only)


@pytest.fixture(scope="session")
def transactions_only_build(transactions_only_dir, shared_tmp) -> Build:
    build = built_once(shared_tmp, "transactions_only_build", transactions_only_dir)
    assert build.returncode == 0, build.output[-6000:]
    return build
