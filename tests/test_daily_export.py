"""tools/daily_export.differing_tables: two warehouses compared as multisets of rows, table by table."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tools import daily_export


def _warehouse(path: Path, rows: list[tuple[int, str | None]], other: list[int]) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.scores (id integer, reason varchar)")
        con.executemany("insert into marts.scores values (?, ?)", rows)
        con.execute("create table marts.counts (n integer)")
        con.executemany("insert into marts.counts values (?)", [(n,) for n in other])
    return path


@pytest.fixture
def warehouses(tmp_path: Path) -> tuple[Path, Path]:
    left = _warehouse(tmp_path / "left.duckdb", [(1, "a"), (2, None), (2, None)], [1, 2])
    # The same scores in another order; one count changed.
    right = _warehouse(tmp_path / "right.duckdb", [(2, None), (1, "a"), (2, None)], [1, 3])
    return left, right


def test_rows_in_another_order_are_the_same_table(warehouses):
    assert daily_export.differing_tables(*warehouses) == (2, ["marts.counts: 2 rows"])


class _NoRoomForSetDifferences:
    """A DuckDB connection whose set differences run out of memory, as the largest tables' did at
    1,000,000 customers."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def execute(self, query: str, *args):
        if "except all" in query:
            raise duckdb.OutOfMemoryException("failed to pin block")
        return self.con.execute(query, *args)

    def close(self) -> None:
        self.con.close()


def test_a_table_too_large_for_a_set_difference_is_compared_by_its_fingerprint(warehouses, monkeypatch):
    connect = duckdb.connect
    monkeypatch.setattr(daily_export.duckdb, "connect", lambda **kw: _NoRoomForSetDifferences(connect(**kw)))
    assert daily_export.differing_tables(*warehouses) == (2, ["marts.counts: differs (fingerprint)"])


def test_the_fingerprint_ignores_order_and_sees_every_value(tmp_path):
    con = duckdb.connect()
    con.execute("create table a as select * from (values (1, 'x'), (2, null), (2, null)) t(i, s)")
    con.execute("create table b as select * from (values (2, null), (1, 'x'), (2, null)) t(i, s)")
    con.execute("create table c as select * from (values (2, null), (1, 'y'), (2, null)) t(i, s)")
    con.execute("create table d as select * from (values (1, 'x'), (2, null)) t(i, s)")
    a, b, c, d = (daily_export._fingerprint(con, name, '"i", "s"') for name in "abcd")
    assert a == b and a != c and a != d
