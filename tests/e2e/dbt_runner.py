"""Run `dbt build` on a raw data folder the way a user would, each build in a database of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

PROJECT_DIR = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).with_name("dbt")
# The dbt unit tests read fixed inputs, never the raw folder: the same on every data set, so the build of
# the demo fixture (tests/e2e/conftest.py) runs them and the other builds leave them out (about 50 nodes,
# some 14 s of node time a build).
WITHOUT_UNIT_TESTS = ("--exclude-resource-type", "unit_test")
# Every model, no data test or unit test: for builds whose test reads only tables (determinism, reuse).
MODELS_ONLY = ("--exclude-resource-type", "test", "unit_test")


@dataclass
class Build:
    """The outcome of one `dbt build`: its exit code, console output and database file."""

    returncode: int
    output: str
    database: Path

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.database), read_only=True) as con:
            return con.execute(sql).fetchall()

    def scalar(self, sql: str):
        return self.query(sql)[0][0]


def _dbt_build_command(
    work_dir: Path, raw_data_path: Path | None, extra_vars: dict | None, args: tuple[str, ...]
) -> tuple[list[str], dict, Path]:
    work_dir.mkdir(parents=True, exist_ok=True)
    variables = dict(extra_vars or {})
    if raw_data_path is not None:
        variables["raw_data_path"] = str(raw_data_path)
    database = work_dir / "warehouse.duckdb"
    env = {**os.environ, "SEGMENTATION_DB_PATH": str(database), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    command = [
        str(DBT),
        "build",
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
        "--vars",
        json.dumps(variables),
        # A partial build (--select) runs only the tests whose every parent it builds.
        "--indirect-selection",
        "cautious",
        *args,
    ]
    return command, env, database


def dbt_build(
    work_dir: Path,
    raw_data_path: Path | None,
    extra_vars: dict | None = None,
    args: tuple[str, ...] = (),
    unit_tests: bool = False,
) -> Build:
    """`dbt build` of the project into work_dir/warehouse.duckdb, reading raw files from raw_data_path;
    the dbt unit tests only when `unit_tests`."""
    args = args if unit_tests else (*args, *WITHOUT_UNIT_TESTS)
    command, env, database = _dbt_build_command(work_dir, raw_data_path, extra_vars, args)
    done = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=1800)
    return Build(done.returncode, done.stdout + done.stderr, database)


def start_dbt_build(
    work_dir: Path, raw_data_path: Path | None, extra_vars: dict | None = None, args: tuple[str, ...] = ()
) -> subprocess.Popen:
    """The same `dbt build` (without the unit tests), started and left running (to read or kill it
    meanwhile). Its console output goes to work_dir/console.log; dbt's own log is work_dir/logs/dbt.log."""
    command, env, _ = _dbt_build_command(work_dir, raw_data_path, extra_vars, (*args, *WITHOUT_UNIT_TESTS))
    console = (work_dir / "console.log").open("w")
    return subprocess.Popen(
        command, cwd=PROJECT_DIR, env=env, stdout=console, stderr=subprocess.STDOUT, text=True
    )
