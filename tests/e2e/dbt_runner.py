"""Run `dbt build` on a raw data folder the way a user would, each build in a database of its own."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
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
# Where builds leave the partial-parse file of their vars for the next build with the same ones (set for
# the test session by tests/conftest.py; None: every build parses the project in full, about 9 s of CPU).
# dbt reuses a parse only when the vars, the profile's connection settings (the database path among them)
# and the project's files are the same, so a build that shares one runs in its own folder with the
# database and the raw folder named relative to it (`warehouse.duckdb`, `raw`, a link to the raw folder).
PARSE_CACHE: Path | None = None


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
    work_dir: Path,
    raw_data_path: Path | None,
    extra_vars: dict | None,
    args: tuple[str, ...],
    shared_parse: bool = False,
) -> tuple[list[str], dict, Path]:
    """The dbt command, its environment and the database file. `shared_parse`: the database and the raw
    folder named relative to work_dir (the command must run there), so builds with the same vars share a
    parse (PARSE_CACHE)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    variables = dict(extra_vars or {})
    database = work_dir / "warehouse.duckdb"
    if raw_data_path is not None:
        relative = _raw_link(work_dir, raw_data_path) if shared_parse else None
        variables["raw_data_path"] = relative or str(raw_data_path)
    env = {
        **os.environ,
        "SEGMENTATION_DB_PATH": database.name if shared_parse else str(database),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
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
        json.dumps(variables, sort_keys=True),
        # A partial build (--select) runs only the tests whose every parent it builds.
        "--indirect-selection",
        "cautious",
        *args,
    ]
    return command, env, database


def _raw_link(work_dir: Path, raw_data_path: Path) -> str | None:
    """`raw`, a link in work_dir to the raw folder (replacing the link of an earlier build there); None
    where another folder named raw lies there."""
    link = work_dir / "raw"
    if link.is_symlink():
        link.unlink()
    if link.exists():  # the raw folder itself lies there
        return "raw" if link.resolve() == raw_data_path.resolve() else None
    link.symlink_to(raw_data_path.resolve(), target_is_directory=True)
    return "raw"


def _cached_parse(command: list[str]) -> Path | None:
    """The cache's partial-parse file for the command's vars (None without a cache)."""
    if PARSE_CACHE is None:
        return None
    variables = command[command.index("--vars") + 1]
    return PARSE_CACHE / f"{hashlib.sha256(variables.encode()).hexdigest()[:16]}.msgpack"


def _reuse_parse(command: list[str], work_dir: Path) -> None:
    """Put the cached parse of the command's vars in work_dir's target folder, where dbt looks for it (over
    the parse of an earlier build there, which may have had other vars)."""
    cached, mine = _cached_parse(command), work_dir / "target" / "partial_parse.msgpack"
    if cached is not None and cached.exists():
        mine.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, mine)


def _keep_parse(command: list[str], work_dir: Path) -> None:
    """Cache work_dir's parse for later builds with the same vars (written whole, then renamed)."""
    cached, mine = _cached_parse(command), work_dir / "target" / "partial_parse.msgpack"
    if cached is not None and not cached.exists() and mine.exists():
        partial = cached.with_suffix(f".{os.getpid()}.part")
        shutil.copyfile(mine, partial)
        os.replace(partial, cached)


def _prepared(
    work_dir: Path,
    raw_data_path: Path | None,
    extra_vars: dict | None,
    args: tuple[str, ...],
    shared_parse: bool,
) -> tuple[list[str], dict, Path, bool]:
    """`_dbt_build_command`'s command, environment and database, and whether the build shares a parse: then
    it runs in work_dir, with the cached parse of its vars put in place. Without a raw folder the build
    reads the demo data, named relative to the project folder, so it parses on its own."""
    shared_parse = shared_parse and raw_data_path is not None
    command, env, database = _dbt_build_command(work_dir, raw_data_path, extra_vars, args, shared_parse)
    if shared_parse:
        _reuse_parse(command, work_dir)
    return command, env, database, shared_parse


def dbt_build(
    work_dir: Path,
    raw_data_path: Path | None,
    extra_vars: dict | None = None,
    args: tuple[str, ...] = (),
    unit_tests: bool = False,
    shared_parse: bool = True,
) -> Build:
    """`dbt build` of the project into work_dir/warehouse.duckdb, reading raw files from raw_data_path;
    the dbt unit tests only when `unit_tests`. `shared_parse`: run in work_dir with the paths relative to
    it, reusing the parse of an earlier build with the same vars (see PARSE_CACHE); the raw files' names
    in the tables (source_file) and messages are then raw/<file>."""
    args = args if unit_tests else (*args, *WITHOUT_UNIT_TESTS)
    command, env, database, shared = _prepared(work_dir, raw_data_path, extra_vars, args, shared_parse)
    cwd = work_dir if shared else PROJECT_DIR
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    if shared:
        _keep_parse(command, work_dir)
    return Build(done.returncode, done.stdout + done.stderr, database)


def start_dbt_build(
    work_dir: Path, raw_data_path: Path | None, extra_vars: dict | None = None, args: tuple[str, ...] = ()
) -> subprocess.Popen:
    """The same `dbt build` (without the unit tests, sharing a parse), started and left running (to read or
    kill it meanwhile). Its console output goes to work_dir/console.log; dbt's own log is
    work_dir/logs/dbt.log."""
    args = (*args, *WITHOUT_UNIT_TESTS)
    command, env, _, shared = _prepared(work_dir, raw_data_path, extra_vars, args, shared_parse=True)
    console = (work_dir / "console.log").open("w")
    cwd = work_dir if shared else PROJECT_DIR
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=console, stderr=subprocess.STDOUT, text=True)
