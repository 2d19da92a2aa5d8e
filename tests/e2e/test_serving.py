"""BI reads while a build runs: the marts are published to a serving DuckDB file replaced atomically.

A reader holds the serving file open through duckdb-engine (SQLAlchemy), as Superset does, while a build
runs: it keeps reading the old marts, and a connection opened after the build reads the new ones."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import sqlalchemy
from sqlalchemy.pool import NullPool

from tests.e2e.contract import mart_contracts
from tests.e2e.dbt_runner import Build, dbt_build, start_dbt_build

# Every mart of the contract document but build_status, a view in the serving file (checked below).
MARTS = (set(mart_contracts()) | set(mart_contracts(further=True))) - {"build_status"}
# What a dashboard reads: the same set of rows before and after, or a consistent new set.
SNAPSHOT = (
    "select (select max(as_of_date) from marts.customer_segments),"
    " (select count(*) from marts.customer_segments),"
    " (select sum(hash(customer_id, segment_id, churn_risk, predicted_ltv)) from marts.customer_segments),"
    " (select count(*) from marts.fraud_transaction_scores),"
    " (select sum(hash(transaction_id, fraud_score)) from marts.fraud_transaction_scores)"
)


def _engine(path: Path) -> sqlalchemy.Engine:
    """The engine Superset makes from `duckdb:////abs/path` with read_only in its engine parameters."""
    return sqlalchemy.create_engine(f"duckdb:///{path}", connect_args={"read_only": True}, poolclass=NullPool)


@pytest.fixture
def served(transactions_only_dir: Path, transactions_only_build: Build, tmp_path: Path) -> Build:
    """A copy of the transactions-only warehouse whose marts a partial build has just published."""
    work = tmp_path / "build"
    work.mkdir()
    shutil.copy(transactions_only_build.database, work / "warehouse.duckdb")
    build = dbt_build(work, transactions_only_dir, args=("--select", "serving_publication"))
    assert build.returncode == 0, build.output[-4000:]
    return build


def test_serving_file_holds_the_marts_with_their_comments(served: Build) -> None:
    serving = served.database.with_name("warehouse.serving.duckdb")
    assert serving.exists()
    assert not serving.with_name(serving.name + ".publishing").exists()
    with duckdb.connect(str(serving), read_only=True) as con:
        tables = {
            row[0]
            for row in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts'"
            ).fetchall()
        }
        assert tables == MARTS
        for table in MARTS:
            assert (
                con.execute(f"select count(*) from marts.{table}").fetchone()
                == served.query(f"select count(*) from marts.{table}")[0]
            )
        # Column descriptions reach the serving file, so BI tools that show comments show the docs.
        undocumented = con.execute(
            "select table_name, column_name from duckdb_columns()"
            " where schema_name = 'marts' and comment is null"
        ).fetchall()
        documented_in_warehouse = served.query(
            "select table_name, column_name from duckdb_columns()"
            " where schema_name = 'marts' and comment is null"
        )
        assert sorted(undocumented) == sorted(documented_in_warehouse)
        assert con.execute(
            "select count(comment) from duckdb_views() where view_name = 'build_status'"
        ).fetchone() == (1,)
        assert con.execute("select count(*) from ml.segmentation_model_map").fetchone()[0] > 0
        status = con.execute(
            "select latest_build_status, is_build_running, has_failed_since_published, as_of_date"
            " from marts.build_status"
        ).fetchone()
    as_of = served.scalar("select max(as_of_date) from marts.customer_segments")
    assert status == ("success", False, False, as_of)


def test_a_failed_build_publishes_nothing_and_readers_see_it_failed(served: Build, tmp_path: Path) -> None:
    serving = served.database.with_name("warehouse.serving.duckdb")
    with duckdb.connect(str(serving), read_only=True) as con:
        before = con.execute(SNAPSHOT).fetchone()
    empty = tmp_path / "empty_raw"
    empty.mkdir()
    failed = dbt_build(served.database.parent, empty)
    assert failed.returncode != 0
    with duckdb.connect(str(serving), read_only=True) as con:
        assert con.execute(SNAPSHOT).fetchone() == before
        status, failed_since, failure = con.execute(
            "select latest_build_status, has_failed_since_published, latest_failure_status"
            " from marts.build_status"
        ).fetchone()
    assert (status, failed_since, failure) == ("failed", True, "failed")
    assert served.query("select latest_build_status from marts.build_status") == [("failed",)]


def test_a_reader_holding_the_serving_file_reads_old_marts_during_a_build_and_new_after(
    served: Build, transactions_only_dir: Path
) -> None:
    serving = served.database.with_name("warehouse.serving.duckdb")
    engine = _engine(serving)
    held = engine.connect()
    old = held.execute(sqlalchemy.text(SNAPSHOT)).one()
    # An earlier as-of date: every mart changes.
    build = start_dbt_build(served.database.parent, transactions_only_dir, {"as_of_date": "2026-08-01"})
    reads, saw_running, other_process_reads = 0, False, 0
    try:
        while build.poll() is None:
            assert held.execute(sqlalchemy.text(SNAPSHOT)).one() == old
            reads += 1
            running = held.execute(
                sqlalchemy.text("select is_build_running from marts.build_status")
            ).scalar()
            saw_running = saw_running or running
            if other_process_reads < 3:
                # Another process opening the file while the build runs: no lock stands in its way.
                done = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        f"import duckdb; duckdb.connect({str(serving)!r}, read_only=True)"
                        ".execute('select count(*) from marts.customer_segments').fetchall()",
                    ],
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                assert done.returncode == 0, done.stderr
                other_process_reads += 1
            time.sleep(0.5)
    finally:
        if build.poll() is None:
            build.kill()
        build.wait()
    console = (served.database.parent / "console.log").read_text()
    assert build.returncode == 0, console[-4000:]
    assert reads >= 10 and saw_running and other_process_reads == 3
    # The held connection still reads the old file, whole.
    assert held.execute(sqlalchemy.text(SNAPSHOT)).one() == old
    held.close()
    engine.dispose()

    with _engine(serving).connect() as fresh:
        new = fresh.execute(sqlalchemy.text(SNAPSHOT)).one()
        status = fresh.execute(
            sqlalchemy.text(
                "select latest_build_status, is_build_running, as_of_date from marts.build_status"
            )
        ).one()
    assert str(new[0]) == "2026-08-01" and str(old[0]) != str(new[0])
    assert new[1:] != old[1:]
    assert tuple(status) == ("success", False, new[0])


def test_sqlalchemy_inspector_lists_tables_and_columns_as_superset_does(served: Build) -> None:
    serving = served.database.with_name("warehouse.serving.duckdb")
    engine = _engine(serving)
    inspector = sqlalchemy.inspect(engine)
    schemas = inspector.get_schema_names()
    assert any(schema.endswith("marts") for schema in schemas), schemas
    assert set(inspector.get_table_names(schema="marts")) == MARTS
    assert inspector.get_view_names(schema="marts") == ["build_status"]
    for table in [*MARTS, "build_status"]:
        columns = inspector.get_columns(table, schema="marts")
        expected = served.query(
            f"select column_name from duckdb_columns() where schema_name = 'marts' and table_name = '{table}'"
            " order by column_index"
        )
        assert [column["name"] for column in columns] == [name for (name,) in expected]
        inspector.get_pk_constraint(table, schema="marts")
        inspector.get_foreign_keys(table, schema="marts")
    segments = {
        column["name"]: column for column in inspector.get_columns("customer_segments", schema="marts")
    }
    assert segments["customer_id"]["comment"]
    engine.dispose()
