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


def test_a_connection_that_ran_out_of_memory_goes_on_comparing(tmp_path):
    """DuckDB's own out-of-memory error on a set difference leaves the connection usable: the comparison
    goes on with the fingerprint on the same connection."""
    con = duckdb.connect(str(tmp_path / "big.duckdb"), config={"temp_directory": str(tmp_path / "spill")})
    con.execute("create table big as select range as i, repeat('x', 64) || range as s from range(3000000)")
    con.execute("checkpoint")
    con.execute("set max_temp_directory_size = '1MB'")  # no room to spill
    con.execute("set memory_limit = '20MB'")
    with pytest.raises(duckdb.OutOfMemoryException):
        con.execute("select count(*) from (from big except all from big where i > 0)").fetchone()
    assert daily_export._fingerprint(con, "big", '"i", "s"')[0] == 3_000_000


def test_the_fingerprint_ignores_order_and_sees_every_value(tmp_path):
    con = duckdb.connect()
    con.execute("create table a as select * from (values (1, 'x'), (2, null), (2, null)) t(i, s)")
    con.execute("create table b as select * from (values (2, null), (1, 'x'), (2, null)) t(i, s)")
    con.execute("create table c as select * from (values (2, null), (1, 'y'), (2, null)) t(i, s)")
    # The same number of rows as a, one value changed in one of them: only the hashes tell.
    con.execute("create table d as select * from (values (1, 'x'), (2, null), (3, null)) t(i, s)")
    a, b, c, d = (daily_export._fingerprint(con, name, '"i", "s"') for name in "abcd")
    assert a == b and a != c and a != d
    assert a[0] == c[0] == d[0]
