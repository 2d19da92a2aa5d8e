"""Long SQL queries report their progress in the dbt log (customer_ml.warehouse.sql_progress), read from
dbt's connections inside a real build."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.dbt_runner import dbt_build


def test_a_running_sql_model_reports_its_share_of_input_read(
    demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every query is long enough here: a line as soon as one is seen running, looked at every 20 ms.
    monkeypatch.setenv("SEGMENTATION_SQL_PROGRESS_S", "0")
    monkeypatch.setenv("SEGMENTATION_SQL_PROGRESS_POLL_S", "0.02")
    build = dbt_build(tmp_path, demo_dir, args=("--select", "base_raw__events", "base_raw__transactions"))
    assert build.returncode == 0, build.output[-4000:]
    log = (tmp_path / "logs" / "dbt.log").read_text()
    lines = [line for line in log.splitlines() if "]: sql: " in line]
    events = [line for line in lines if "sql: base_raw__events: " in line]
    assert events, log[-4000:]
