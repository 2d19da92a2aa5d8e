"""Raw tables as two daily exports: 'yesterday' holds every row dated before the last day of
transactions, 'today' holds yesterday's rows first, in the same order, then the rest, as a daily export
grows, and the comparison of two builds' warehouses. Used by the freshness test
(tests/e2e/test_freshness.py) and benchmark (bench/bench_freshness.py).

    PYTHONPATH=src .venv/bin/python -m tools.daily_export RAW_FOLDER YESTERDAY_FOLDER TODAY_FOLDER

Tables without a date (items) are the same in both. Order lines and fraud labels follow their
transaction; customers, events and social links their own date. The generator's ground truth
(`_truth/`), which only evaluation models read, is copied whole to both.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# Columns that hold the moment of the build, not something computed from the data.
BUILD_TIME_COLUMNS = ("checked_at", "evaluated_at", "scored_at")
DATE_COLUMNS = {"events": "occurred_at", "customers": "signed_up_at", "social_edges": "created_at"}
BY_TRANSACTION = ("transaction_items", "fraud_labels")


def _before(table: pa.Table, column: str, cutoff) -> pa.Array:
    dated = pc.cast(table[column], pa.timestamp("us"))
    return pc.fill_null(pc.less(dated, pa.scalar(cutoff, pa.timestamp("us"))), True)


def split(tables: dict[str, pa.Table], yesterday: Path, today: Path) -> tuple[int, int]:
    """Write both exports as parquet; returns (transactions yesterday, transactions today)."""
    transactions = tables["transactions"]
    cutoff = pc.floor_temporal(pc.max(pc.cast(transactions["transacted_at"], pa.timestamp("us"))), unit="day")
    keep = {"transactions": _before(transactions, "transacted_at", cutoff.as_py())}
    old_ids = transactions.filter(keep["transactions"])["transaction_id"]
    for name, column in DATE_COLUMNS.items():
        if name in tables and column in tables[name].column_names:
            keep[name] = _before(tables[name], column, cutoff.as_py())
    for name in BY_TRANSACTION:
        if name in tables:
            keep[name] = pc.is_in(tables[name]["transaction_id"], value_set=old_ids)
    for folder in (yesterday, today):
        folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        if name not in keep:
            pq.write_table(table, yesterday / f"{name}.parquet")
            pq.write_table(table, today / f"{name}.parquet")
            continue
        old = table.filter(keep[name])
        pq.write_table(old, yesterday / f"{name}.parquet")
        new = table.filter(pc.invert(keep[name]))
        pq.write_table(pa.concat_tables([old, new]), today / f"{name}.parquet")
    return len(old_ids), transactions.num_rows


def split_folder(raw: Path, yesterday: Path, today: Path) -> tuple[int, int]:
    """split() of a raw folder's parquet tables, with its ground truth copied to both."""
    tables = {path.stem: pq.read_table(path) for path in sorted(raw.glob("*.parquet"))}
    counts = split(tables, yesterday, today)
    if (raw / "_truth").is_dir():
        for folder in (yesterday, today):
            shutil.copytree(raw / "_truth", folder / "_truth", dirs_exist_ok=True)
    return counts


COMPARE_MEMORY = "4GB"


def _fingerprint(con: duckdb.DuckDBPyConnection, table: str, listed: str) -> tuple[Any, ...]:
    """(rows, sum of each row's 64-bit hash, sum of a second value mixed from it) of a table, in one
    streamed pass in constant memory: the same for two tables with the same rows in any order. The second
    sum keeps two different sets of row hashes from matching by their sums alone; rows whose 64-bit
    hashes collide are not told apart (a chance of about 2**-64 per pair of differing rows)."""
    row = f"row({listed})"
    return con.execute(
        f"select count(*), sum(hash({row})::hugeint), sum(hash({row}, 1)::hugeint) from {table}"
    ).fetchone()


def differing_tables(left: Path, right: Path) -> tuple[int, list[str]]:
    """Two warehouses compared table by table (the build log's schema ops and the columns
    BUILD_TIME_COLUMNS left out): the number of tables compared, and 'schema.table: N rows' for each
    table whose rows differ (as multisets: row order is not compared), bit for bit where the set
    difference fits in memory. DuckDB holds at most COMPARE_MEMORY and spills the rest to a temporary
    folder: at 1,000,000 customers the comparison of the 38 M-row tables without a limit was killed for
    memory on a 24 GB machine, and with it a set difference of the largest tables still ran out of memory
    (2026-12-06). A table whose set difference does not fit is compared by its fingerprint instead
    (`_fingerprint`: the rows and a sum of their 64-bit hashes, streamed), and named with 'fingerprint'
    when it differs."""
    spill = tempfile.mkdtemp(prefix="compare_")
    con = duckdb.connect(config={"memory_limit": COMPARE_MEMORY, "temp_directory": spill})
    con.execute("set enable_progress_bar = false")  # minutes-long comparisons at scale print none
    con.execute(f"attach '{left}' as a (read_only)")
    con.execute(f"attach '{right}' as b (read_only)")
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = 'a'"
        " and schema_name <> 'ops' order by all"
    ).fetchall()
    found = []
    for schema, table in tables:
        names = con.execute(
            "select column_name from duckdb_columns() where database_name = 'a' and schema_name = ?"
            " and table_name = ? order by column_index",
            [schema, table],
        ).fetchall()
        listed = ", ".join(f'"{name}"' for (name,) in names if name not in BUILD_TIME_COLUMNS)
        try:
            left_rows, right_rows = (f"select {listed} from {side}.{schema}.{table}" for side in ("a", "b"))
            differing = con.execute(
                f"select count(*) from (({left_rows} except all {right_rows})"
                f" union all ({right_rows} except all {left_rows}))"
            ).fetchone()[0]
        except duckdb.OutOfMemoryException:
            sides = [_fingerprint(con, f"{side}.{schema}.{table}", listed) for side in ("a", "b")]
            if sides[0] != sides[1]:
                found.append(f"{schema}.{table}: differs (fingerprint)")
            continue
        if differing:
            found.append(f"{schema}.{table}: {differing} rows")
    con.close()
    shutil.rmtree(spill, ignore_errors=True)
    return len(tables), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("raw", type=Path)
    parser.add_argument("yesterday", type=Path)
    parser.add_argument("today", type=Path)
    args = parser.parse_args()
    before, after = split_folder(args.raw, args.yesterday, args.today)
    print(f"transactions: {before:,} yesterday, {after:,} today")


if __name__ == "__main__":
    main()
