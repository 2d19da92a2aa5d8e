"""Tests of customer_ml.warehouse.progress: the lines long work writes to the dbt log."""

from __future__ import annotations

from customer_ml.warehouse.progress import Progress


def test_progress_lines_name_stage_rows_elapsed_and_estimate():
    now = [0.0]
    lines: list[str] = []
    progress = Progress(lines.append, "fraud scoring", 1000, "transactions", 5.0, lambda: now[0])
    for seconds, done in [(0, 0), (1, 100), (2, 200), (10, 250), (30, 1000)]:
        now[0] = seconds
        progress.update(done)  # a line at the start, the end, and 5 s or more after the last line
    assert lines == [
        "fraud scoring: 0 of 1,000 transactions, 0 s elapsed",
        "fraud scoring: 250 of 1,000 transactions, 10 s elapsed, about 30 s left",
        "fraud scoring: 1,000 of 1,000 transactions, 30 s elapsed",
    ]


def test_progress_steps_log_every_step_with_a_note():
    lines: list[str] = []
    progress = Progress(lines.append, "churn and value training", 2, unit="steps", every_s=0)
    progress.step("backtest fitted")
    progress.step("done")
    assert lines[0].startswith("churn and value training: 1 of 2 steps, ")
    assert lines[0].endswith("left (backtest fitted)")
    assert lines[1].startswith("churn and value training: 2 of 2 steps, ") and lines[1].endswith("(done)")
