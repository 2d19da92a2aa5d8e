"""Publishing the marts to the serving DuckDB file that BI tools read, replaced atomically.

DuckDB allows one writer per file: a BI tool holding the warehouse open makes a build fail, and a build
makes every reader fail. So the build never writes where readers read. At the end of a successful build
the published tables are copied (inside DuckDB: ATTACH and `create table as`, no rows through Python),
with their comments, into a new file beside the serving file; the new file is checkpointed and closed,
then `os.replace`d onto the serving path. A reader that holds the old file open keeps reading the old
tables (the old file lives on until it closes it); a connection opened afterwards reads the new ones.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

STAGING_SUFFIX = ".publishing"
SERVING_ALIAS = "serving_publication_target"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def publish(
    session: Any,
    tables: Sequence[str],
    build_log: str,
    as_of_table: str = "customer_segments",
    status_view: str = "build_status",
) -> pa.Table:
    """Copy the named warehouse tables (each keeping its schema, columns, types and comments) into a new
    DuckDB file and move it atomically onto the serving path. Adds the view marts.build_status on the
    build-status Parquet file (rewritten by every build, so readers of an old serving file still see
    that a later build failed). Both paths are the running build's, from its row in build_log. Returns
    one row saying what was published, when, and the marts' as-of date."""
    running = session.sql(
        f"select serving_path, status_path from {build_log} where build_status = 'running'"
    ).fetchall()
    if len(running) != 1:
        raise RuntimeError(f"expected one running build in {build_log}, found {len(running)}")
    serving, status = (Path(path).absolute() for path in running[0])
    staging = serving.with_name(serving.name + STAGING_SUFFIX)
    # A build killed while publishing leaves its half-written staging file: never a served one.
    for leftover in (staging, staging.with_name(staging.name + ".wal")):
        leftover.unlink(missing_ok=True)
    # A connection of its own (same database instance, so no lock): the model's own connection is
    # inside a transaction that writes to the warehouse, and a DuckDB transaction writes to one file.
    con = session.cursor()
    try:
        warehouse = con.execute("select current_database()").fetchone()[0]
        found = dict(
            con.execute(
                "select table_name, schema_name from duckdb_tables() where database_name = ?",
                [warehouse],
            ).fetchall()
        )
        missing = [name for name in tables if name not in found]
        if missing:
            raise ValueError(f"cannot publish {', '.join(missing)}: no such table in {warehouse}")
        con.execute(f"attach {_literal(str(staging))} as {SERVING_ALIAS}")
        try:
            _copy_tables(con, warehouse, [(found[name], name) for name in tables])
            _create_status_view(con, warehouse, status, status_view)
            con.execute(f"checkpoint {SERVING_ALIAS}")
        finally:
            con.execute(f"detach {SERVING_ALIAS}")
        as_of_schema = found.get(as_of_table)
        as_of_date = None
        if as_of_schema is not None:
            relation = f"{_quote(warehouse)}.{_quote(as_of_schema)}.{_quote(as_of_table)}"
            as_of_date = con.execute(f"select max(as_of_date) from {relation}").fetchone()[0]
    finally:
        con.close()
    os.replace(staging, serving)
    _fsync_directory(serving.parent)
    return pa.table(
        {
            "serving_path": [str(serving)],
            "status_path": [str(status)],
            "published_tables": [len(tables)],
            "as_of_date": pa.array([as_of_date], pa.date32()),
            "published_at": pa.array(
                [dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)], pa.timestamp("us")
            ),
        }
    )


def _copy_tables(con: Any, warehouse: str, tables: Sequence[tuple[str, str]]) -> None:
    """create table as select for each (schema, table), then its table and column comments."""
    for schema in sorted({schema for schema, _ in tables}):
        con.execute(f"create schema if not exists {SERVING_ALIAS}.{_quote(schema)}")
    for schema, name in tables:
        target = f"{SERVING_ALIAS}.{_quote(schema)}.{_quote(name)}"
        con.execute(
            f"create table {target} as select * from {_quote(warehouse)}.{_quote(schema)}.{_quote(name)}"
        )
        _copy_comments(con, warehouse, schema, name, target, "table")


def _create_status_view(con: Any, warehouse: str, status: Path, name: str) -> None:
    """marts.<name> in the serving file: a view on the status file, documented as the warehouse's view."""
    target = f"{SERVING_ALIAS}.marts.{_quote(name)}"
    con.execute(f"create schema if not exists {SERVING_ALIAS}.marts")
    con.execute(f"create view {target} as select * from read_parquet({_literal(str(status))})")
    _copy_comments(con, warehouse, "marts", name, target, "view")


def _copy_comments(con: Any, warehouse: str, schema: str, name: str, target: str, kind: str) -> None:
    """The comments (dbt descriptions, by persist_docs) of a warehouse table or view and its columns."""
    catalog = "duckdb_tables()" if kind == "table" else "duckdb_views()"
    comment = con.execute(
        f"select comment from {catalog} where database_name = ? and schema_name = ? and {kind}_name = ?",
        [warehouse, schema, name],
    ).fetchall()
    if comment and comment[0][0]:
        con.execute(f"comment on {kind} {target} is {_literal(comment[0][0])}")
    columns = con.execute(
        "select column_name, comment from duckdb_columns() "
        "where database_name = ? and schema_name = ? and table_name = ? and comment is not null",
        [warehouse, schema, name],
    ).fetchall()
    for column, column_comment in columns:
        con.execute(f"comment on column {target}.{_quote(column)} is {_literal(column_comment)}")


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
