"""A transaction DuckDB runs out of memory in runs again (customer_ml.warehouse.memory_retry), on a real
DuckDB database behind dbt-duckdb's own cursor wrapper; the out-of-memory errors are raised by a shim
around DuckDB's cursor, at the statements a test names, since DuckDB's own come at no chosen moment."""

from __future__ import annotations

import duckdb
import pytest
from dbt.adapters.duckdb.environments.local import DuckDBCursorWrapper

from customer_ml.warehouse import memory_retry

DBT_COMMENT = '/* {"app": "dbt", "node_id": "model.customer_segmentation.int_order_lines"} */\n'


class FailingCursor:
    """A DuckDB cursor whose `execute` raises DuckDB's out-of-memory error the first `times` times it
    meets a statement containing `marker` (or each marker of `more`, its own number of times); it records
    every statement DuckDB ran."""

    def __init__(
        self, cursor: duckdb.DuckDBPyConnection, marker: str, times: int, more: dict[str, int] | None = None
    ) -> None:
        self.cursor = cursor
        self.failures = {marker: times, **(more or {})}
        self.ran: list[str] = []

    def execute(self, sql: str, bindings: object = None) -> object:
        marker = next((m for m, left in self.failures.items() if m in sql and left > 0), None)
        if marker is not None:
            self.failures[marker] -= 1
            self.ran.append("OUT OF MEMORY: " + sql)
            raise duckdb.OutOfMemoryException("Out of Memory Error: failed to pin block of size 256.0 KiB")
        self.ran.append(sql)
        return self.cursor.execute(sql) if bindings is None else self.cursor.execute(sql, bindings)

    def __getattr__(self, name: str) -> object:
        return getattr(self.cursor, name)


@pytest.fixture
def database(tmp_path, monkeypatch):
    monkeypatch.setattr(memory_retry, "RETRY_DELAYS_S", (0.0, 0.0))
    # dbt-duckdb's own method again after the test, whatever wrapped it before.
    execute = DuckDBCursorWrapper.execute
    monkeypatch.setattr(DuckDBCursorWrapper, "execute", getattr(execute, "__wrapped__", execute))
    assert memory_retry.install()
    assert memory_retry.install()  # once per process: a second call wraps nothing again
    assert DuckDBCursorWrapper.execute.memory_retry
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def statements(cursor: FailingCursor) -> list[str]:
    return [sql.replace(DBT_COMMENT, "") for sql in cursor.ran]


def test_a_transaction_that_ran_out_of_memory_runs_again_from_its_begin(database, monkeypatch):
    lines: list[str] = []
    monkeypatch.setattr(memory_retry, "dbt_progress", lambda prefix: lambda line: lines.append(line))
    shim = FailingCursor(database.cursor(), "insert into t", times=1)
    cursor = DuckDBCursorWrapper(shim)
    cursor.execute("BEGIN")
    cursor.execute(DBT_COMMENT + "create table t as select 1 as a")
    cursor.execute(DBT_COMMENT + "insert into t values (?)", [2])
    cursor.execute(DBT_COMMENT + "commit;")
    # The first attempt's rows were rolled back: each row once.
    assert sorted(database.execute("select a from t").fetchall()) == [(1,), (2,)]
    assert statements(shim) == [
        "BEGIN",
        "create table t as select 1 as a",
        "OUT OF MEMORY: insert into t values (?)",
        "ROLLBACK",
        "BEGIN",
        "create table t as select 1 as a",
        "insert into t values (?)",
        "commit;",
    ]
    said = "\n".join(lines)
    assert "int_order_lines: DuckDB ran out of memory (Out of Memory Error: failed to pin block" in said
    assert "running its transaction again in 0 s (attempt 2 of 3)" in said
    assert "int_order_lines: attempt 2 succeeded" in said
    # The next transaction starts afresh: none of this one's statements is replayed in it.
    shim.failures = {"insert into u": 1}
    cursor.execute("BEGIN")
    cursor.execute("create table u as select 3 as b")
    cursor.execute("insert into u values (4)")
    cursor.execute("COMMIT")
    assert statements(shim)[-5:] == [
        "ROLLBACK",
        "BEGIN",
        "create table u as select 3 as b",
        "insert into u values (4)",
        "COMMIT",
    ]


def test_a_statement_outside_a_transaction_runs_again_alone(database):
    database.execute("create table t as select 1 as a")
    shim = FailingCursor(database.cursor(), "count(*)", times=2)
    cursor = DuckDBCursorWrapper(shim)
    assert cursor.execute("select count(*) from t").fetchall() == [(1,)]
    assert statements(shim) == ["OUT OF MEMORY: select count(*) from t"] * 2 + ["select count(*) from t"]


def test_a_transaction_has_two_retries_in_all(database):
    """Its first statement to fail takes one retry; a second one, later in the same replay, the last."""
    later = {"insert into t values (3)": 2}
    shim = FailingCursor(database.cursor(), "insert into t values (2)", 1, more=later)
    cursor = DuckDBCursorWrapper(shim)
    cursor.execute("BEGIN")
    cursor.execute("create table t as select 1 as a")
    cursor.execute("insert into t values (2)")
    with pytest.raises(duckdb.OutOfMemoryException):
        cursor.execute("insert into t values (3)")
    assert sum(sql.startswith("OUT OF MEMORY") for sql in shim.ran) == 3
    cursor.execute("ROLLBACK")


def test_several_statements_outside_a_transaction_are_not_retried(database):
    """DuckDB would have committed the statements before the failed one: running the text again would
    write them twice."""
    database.execute("create table t as select 1 as a")
    shim = FailingCursor(database.cursor(), "create table big", times=1)
    cursor = DuckDBCursorWrapper(shim)
    with pytest.raises(duckdb.OutOfMemoryException):
        cursor.execute("insert into t values (2); create table big as select 1 as b")
    assert shim.ran == ["OUT OF MEMORY: insert into t values (2); create table big as select 1 as b"]
    # One statement with a trailing semicolon is one statement.
    shim.failures = {"count(*)": 1}
    assert cursor.execute("select count(*) from t;").fetchall() == [(1,)]


def test_after_the_last_attempt_the_error_stands_and_nothing_is_written(database):
    shim = FailingCursor(database.cursor(), "insert into t", times=10)
    cursor = DuckDBCursorWrapper(shim)
    cursor.execute("BEGIN")
    cursor.execute("create table t as select 1 as a")
    with pytest.raises(duckdb.OutOfMemoryException, match="failed to pin block"):
        cursor.execute("insert into t values (2)")
    assert sum(sql.startswith("OUT OF MEMORY") for sql in shim.ran) == 3
    cursor.execute("ROLLBACK")  # what dbt does after a failed statement
    tables = database.execute("select count(*) from information_schema.tables where table_name = 't'")
    assert tables.fetchone() == (0,)


def test_other_errors_and_python_model_results_are_not_retried(database):
    shim = FailingCursor(database.cursor(), "__dbt_python_model_df_scores", times=1)
    cursor = DuckDBCursorWrapper(shim)
    cursor.execute("BEGIN")
    with pytest.raises(duckdb.OutOfMemoryException):
        cursor.execute("create table scores as select * from __dbt_python_model_df_scores")
    cursor.execute("ROLLBACK")
    with pytest.raises(duckdb.CatalogException):
        cursor.execute("select * from no_such_table")
    assert statements(shim) == [
        "BEGIN",
        "OUT OF MEMORY: create table scores as select * from __dbt_python_model_df_scores",
        "ROLLBACK",
        "select * from no_such_table",
    ]
