"""Tests of customer_ml.warehouse.progress: the lines long work writes to the dbt log."""

from __future__ import annotations

import re

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


def test_long_sql_queries_get_a_line_every_interval_and_short_ones_none():
    from customer_ml.warehouse.sql_progress import SqlProgress

    now = [0.0]
    running: list[tuple[str, str, float]] = []
    lines: list[str] = []
    watcher = SqlProgress(lambda: running, lines.append, after_s=15, interval_s=15, clock=lambda: now[0])
    timeline = [
        (0, [("t1", "int_customers_item_history", 0.0), ("t2", "stg_raw__items", 10.0)]),
        (1, [("t1", "int_customers_item_history", 5.0), ("t2", "stg_raw__items", -1.0)]),  # items done
        (15, [("t1", "int_customers_item_history", 40.0), ("t2", "int_order_lines", 0.0)]),
        (20, [("t1", "int_customers_item_history", 40.0), ("t2", "int_order_lines", 60.0)]),
        (30, [("t1", "int_customers_item_history", 40.2), ("t2", "int_order_lines", -1.0)]),
        (45, [("t1", "int_customers_item_history", 99.5)]),
        (46, [("t1", "int_customers_item_history", 2.0)]),  # the share falls back: the node's next query
        (55, []),
    ]
    for seconds, state in timeline:
        now[0] = seconds
        running[:] = state
        watcher.poll()
    assert lines == [
        "int_customers_item_history: 40% of its input read, 15 s elapsed, about 22 s left",
        "int_customers_item_history: 40% of its input read (the same for 15 s: working on what it read), "
        "30 s elapsed",
        "int_customers_item_history: its input read, finishing, 45 s elapsed",
    ]


def test_sql_progress_reads_duckdbs_share_of_a_running_query():
    """With the progress bar on and its printing off (profiles.yml), DuckDB reports the share of a running
    query's input read to another thread; -1 when no query runs."""
    import threading
    import time

    import duckdb

    from customer_ml.warehouse.sql_progress import SqlProgress

    con = duckdb.connect()
    cursor = con.cursor()
    cursor.execute("set enable_progress_bar = true")
    cursor.execute("set enable_progress_bar_print = false")
    cursor.execute("set threads = 1")
    cursor.execute("create table numbers as select i from range(30000000) as r(i)")
    assert cursor.query_progress() == -1
    lines: list[str] = []
    watcher = SqlProgress(lambda: [("t", "a_query", cursor.query_progress())], lines.append, 0.0, 0.0)
    query = threading.Thread(
        target=cursor.execute, args=("select count(distinct i % 1000003), sum(i * i % 7) from numbers",)
    )
    query.start()
    while query.is_alive():
        watcher.poll()
        time.sleep(0.02)
    query.join()
    assert lines and all(line.startswith("a_query: ") for line in lines), lines
    # DuckDB's share moved through the query: some look saw it part-way, neither 0 nor finishing.
    shares = [
        int(m.group(1)) for line in lines if (m := re.match(r"a_query: (\d+)% of its input read", line))
    ]
    assert any(0 < share < 99 for share in shares), lines


def test_python_models_are_left_to_their_own_lines(tmp_path):
    from customer_ml.warehouse.sql_progress import python_model_names

    (tmp_path / "python_models" / "fraud").mkdir(parents=True)
    (tmp_path / "python_models" / "fraud" / "fraud_model_versions.py").write_text("")
    assert python_model_names(tmp_path / "nowhere", tmp_path) == {"fraud_model_versions"}


def test_a_slowly_moving_query_keeps_its_estimate():
    from customer_ml.warehouse.sql_progress import SqlProgress

    now = [0.0]
    lines: list[str] = []
    share = [0.0]
    watcher = SqlProgress(lambda: [("t", "int_slow", share[0])], lines.append, 15, 15, lambda: now[0])
    for second in range(16):  # 0.3 points a second: under half a point between two looks
        now[0], share[0] = second, 0.3 * second
        watcher.poll()
    assert lines == ["int_slow: 4% of its input read, 15 s elapsed, about 5 min 18 s left"]


def test_the_watcher_s_settings_never_fail_a_build_and_closes_wait_for_a_look(monkeypatch):
    from dbt.adapters.duckdb.environments import local

    from customer_ml.warehouse.sql_progress import _seconds, guard_closes

    monkeypatch.setenv("SEGMENTATION_SQL_PROGRESS_S", "15s")
    assert _seconds("SEGMENTATION_SQL_PROGRESS_S", 15.0, 0.0) == 15.0
    monkeypatch.setenv("SEGMENTATION_SQL_PROGRESS_POLL_S", "-1")
    assert _seconds("SEGMENTATION_SQL_PROGRESS_POLL_S", 1.0, 0.01) == 0.01
    monkeypatch.setattr(local.DuckDBConnectionWrapper, "close", local.DuckDBConnectionWrapper.close)
    monkeypatch.setattr(local.LocalEnvironment, "close", local.LocalEnvironment.close)
    guard_closes()
    guarded = local.DuckDBConnectionWrapper.close
    guard_closes()  # once only
    assert guarded.look_guarded and local.DuckDBConnectionWrapper.close is guarded
    assert local.LocalEnvironment.close.look_guarded
