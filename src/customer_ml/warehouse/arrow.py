"""Reading warehouse relations into Arrow, the one place that touches DuckDB's Python relation API.

DuckDB 2.0 changed that API (`relation.arrow()` returns a record batch reader there); everything in the
package and the dbt Python models goes through these helpers, which take a whole Arrow table. They take a
Spark DataFrame (or pandas, or Arrow) as well, through customer_ml.distributed.frames, so the Python
models read the same way where dbt hands them Spark DataFrames (docs/scaling.md).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from customer_ml.distributed.frames import engine_of, iter_batches, selected, sorted_by, to_table


def to_arrow(relation: Any) -> pa.Table:
    """A DuckDB relation (or a Spark or pandas DataFrame, or Arrow) as one Arrow table."""
    return to_table(relation)


def batches(relation: Any, rows: int) -> Iterator[pa.Table]:
    """The relation in Arrow tables of at most `rows` rows, in its order; a DuckDB relation streams (one
    batch in memory at a time)."""
    return iter_batches(relation, rows)


def as_reader(tables: Iterator[pa.Table]) -> pa.RecordBatchReader:
    """The tables (at least one, all of one schema) as one record batch reader that pulls them lazily: a
    Python model returns it and dbt-duckdb writes each batch as it comes, never the whole table."""
    first = next(tables)
    rest = (batch for table in tables for batch in table.to_batches())
    return pa.RecordBatchReader.from_batches(first.schema, itertools.chain(first.to_batches(), rest))


def current_snapshot(features: Any, key: str = "customer_id") -> pa.Table:
    """The rows of a feature relation at the current as-of date, filtered in DuckDB, ordered by key."""
    return to_arrow(sorted_by(features.filter("snapshot_name = 'current'"), key))


def snapshot_tables(
    features: Any, names: tuple[str, ...] = ("backtest", "training"), key: str = "customer_id"
) -> dict[str, pa.Table]:
    """{snapshot name: its rows ordered by key} of a relation with a snapshot_name column, each snapshot
    filtered and fetched on its own (no table of every snapshot, and no copies of its parts, in memory)."""
    return {name: to_arrow(sorted_by(features.filter(f"snapshot_name = '{name}'"), key)) for name in names}


def current_batches(
    features: Any, batch_rows: int, key: str = "customer_id"
) -> tuple[Iterator[pa.Table], int]:
    """The current snapshot of a feature relation in Arrow tables of at most batch_rows rows, ordered by
    key (streamed from DuckDB: one batch in memory at a time), and its number of rows."""
    current = features.filter("snapshot_name = 'current'")
    return iter_batches(sorted_by(current, key), batch_rows), row_count(current)


def row_count(frame: Any) -> int:
    """The number of rows of a DuckDB relation or a Spark DataFrame (counted in the engine) or of Arrow or
    pandas data."""
    engine = engine_of(frame)
    if engine == "duckdb":
        return int(frame.aggregate("count(*)").fetchone()[0])
    if engine == "spark":
        return int(frame.count())
    return to_table(frame).num_rows


def purchase_log(transactions: Any) -> pa.Table:
    """customer_id, transacted_at, amount, is_purchase of a transactions relation, in a fixed order
    (numpy sums over it must not depend on the order DuckDB's threads happened to return rows in)."""
    columns = "customer_id, transacted_at, amount, is_purchase"
    return to_arrow(selected(sorted_by(transactions, f"{columns}, transaction_id"), columns))


def feature_catalog(catalog: Any) -> pa.Table:
    """The feature catalog in a fixed order (model inputs are laid out in this order)."""
    return to_arrow(sorted_by(catalog, "entity, feature_name"))


def known_labels(labels: Any, as_of_date: Any) -> pa.Table:
    """The fraud labels known by the as-of date (labelled on or before it; no label date counts as known),
    filtered in DuckDB: a replay of the past learns only what was known then."""
    return to_arrow(labels.filter(f"coalesce(labeled_at, '{as_of_date}') <= '{as_of_date}'"))


def current_as_of_date(as_of_dates: Any) -> Any:
    """The current as-of date (the scoring date) from the relation of int_as_of_dates."""
    current = to_arrow(as_of_dates.filter("is_current"))
    if current.num_rows == 0:  # only when stg_raw__transactions is empty, which the build stops on
        raise ValueError("no as-of date: no accepted transaction (see marts.data_quality)")
    return current.column("as_of_date")[0].as_py()
