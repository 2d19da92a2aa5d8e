"""Reading warehouse relations into Arrow, the one place that touches DuckDB's Python relation API.

DuckDB 2.0 changed that API (`relation.arrow()` returns a record batch reader there); everything in the
package and the dbt Python models goes through these helpers, which take a whole Arrow table.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa


def to_arrow(relation: Any) -> pa.Table:
    """A DuckDB relation as one Arrow table (works on DuckDB 1.x and 2.x)."""
    if hasattr(relation, "to_arrow_table"):
        return relation.to_arrow_table()
    return relation.fetch_arrow_table()  # pragma: no cover - DuckDB releases before to_arrow_table


def current_snapshot(features: Any, key: str = "customer_id") -> pa.Table:
    """The rows of a feature relation at the current as-of date, filtered in DuckDB, ordered by key."""
    return to_arrow(features.filter("snapshot_name = 'current'").order(key))


def purchase_log(transactions: Any) -> pa.Table:
    """customer_id, transacted_at, amount, is_purchase of a transactions relation, in a fixed order
    (numpy sums over it must not depend on the order DuckDB's threads happened to return rows in)."""
    columns = "customer_id, transacted_at, amount, is_purchase"
    return to_arrow(transactions.order(f"{columns}, transaction_id").select(columns))


def feature_catalog(catalog: Any) -> pa.Table:
    """The feature catalog in a fixed order (model inputs are laid out in this order)."""
    return to_arrow(catalog.order("entity, feature_name"))


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
