"""Test-session set-up: the benchmark folder's data generators (bench/fraud_review.py) are importable by
name, so a test and its benchmark share one definition instead of copies; the test builds share dbt's
parse of the project (tests/e2e/dbt_runner.py, PARSE_CACHE)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))


@pytest.fixture(scope="session", autouse=True)
def shared_dbt_parse(tmp_path_factory, worker_id: str):
    """One folder of partial-parse files for the whole test session, every xdist worker's builds
    included: a build reuses the parse of an earlier build with the same vars (on the 2-core machine,
    idle, `dbt parse` takes 9.5 s in full; a build given a reused parse has parsed 2.2 s after it starts)."""
    from tests.e2e import dbt_runner

    base = tmp_path_factory.getbasetemp()
    cache = (base if worker_id == "master" else base.parent) / "dbt_parse_cache"
    cache.mkdir(exist_ok=True)
    dbt_runner.PARSE_CACHE = cache
    yield
    dbt_runner.PARSE_CACHE = None
