"""The project's own generic data tests (macros/tests/) find what they test for, and nothing else."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.e2e.dbt_runner import DBT, PROJECT_DIR


def show(tmp_path: Path, inline: str) -> list[dict]:
    """The rows `dbt show --inline` gives for a Jinja call, on an empty warehouse of its own."""
    env = {
        **os.environ,
        "SEGMENTATION_DB_PATH": str(tmp_path / "warehouse.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    done = subprocess.run(
        [
            str(DBT), "show", "--inline", inline, "--output", "json", "--quiet", "--limit", "100",
            "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
            "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"),
        ],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(done.stdout[done.stdout.index("{") :])["show"]


def test_unique_combination_reports_every_repeated_combination_and_only_those(tmp_path: Path) -> None:
    """Its first pass groups hashes, the second the values: a repeated combination is reported once with
    its count, nulls included (they group as in a plain group by), and combinations that merely share
    a column are not."""
    rows = "(1, 1, null), (2, 1, null), (1, 1, null), (3, 1, 7), (3, 2, 7), (4, 4, 4), (4, 4, 4), (4, 4, 4)"
    relation = f"(select * from (values {rows}) as t(x, y, z))"
    found = show(
        tmp_path, f"{{{{ test_unique_combination(model='{relation}', columns=['x', 'y', 'z']) }}}} order by x"
    )
    assert found == [
        {"x": 1, "y": 1, "z": None, "occurrences": 2},
        {"x": 4, "y": 4, "z": 4, "occurrences": 3},
    ]
