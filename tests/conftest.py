"""Test-session set-up: the benchmark folder's data generators (bench/fraud_review.py) are importable by
name, so a test and its benchmark share one definition instead of copies; the test builds share dbt's
parse of the project (tests/e2e/dbt_runner.py, PARSE_CACHE); the test files that take minutes start first."""

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


# The test files that take minutes, longest first (`pytest --durations`, 2026-12-05: the Spark build 268 s,
# the daily build 106 s, the SIGKILL tests 80 s, the raw-file fuzzing 75 s). `make test` sends files to
# its two workers in collection order (`--dist loadfile --no-loadscope-reorder`), so these start first
# and the shorter files fill in around them; xdist's own order (the files with the most tests first) left
# the Spark build, with three tests, for last, one worker running it alone for four minutes at the end.
FIRST_FILES = (
    "tests/e2e/test_spark_build.py",
    "tests/e2e/test_freshness.py",
    "tests/e2e/test_faults.py",
    "tests/test_fuzz_raw.py",
)


def pytest_collection_modifyitems(config, items) -> None:
    """The files of FIRST_FILES first, in that order; every other test keeps its place after them."""
    rank = {path: position for position, path in enumerate(FIRST_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(FIRST_FILES)))
