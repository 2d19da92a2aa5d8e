"""The fraud scorer's inputs: the risk table conformed to the known risk columns, the catalog rows that
apply to transactions, and the labels, one per transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer_ml.features.preprocessing import FeatureSpec, load_catalog, text_array

__all__ = [
    "DEFAULT_RISK_CATALOG",
    "KEY_COLUMNS",
    "RISK_COLUMNS",
    "RiskRows",
    "clean_labels",
    "conform",
    "float_time",
    "join_labels",
    "pick_catalog",
    "text_column",
]

# Known risk columns and their types: absent ones are added as nulls so that every input conforms.
RISK_COLUMNS: dict[str, pa.DataType] = {
    "amount": pa.float64(),
    "status": pa.string(),
    "payment_method": pa.string(),
    "channel": pa.string(),
    "device_id": pa.string(),
    "ip_country": pa.string(),
    "customer_country": pa.string(),
    "customer_transactions_last_hour": pa.float64(),
    "customer_transactions_last_day": pa.float64(),
    "customer_purchase_amount_last_day": pa.float64(),
    "customer_transactions_last_week": pa.float64(),
    "customer_purchase_amount_last_week": pa.float64(),
    "device_prior_chargebacks": pa.float64(),
    "device_transactions_last_hour": pa.float64(),
    "device_transactions_last_day": pa.float64(),
    "device_customers": pa.float64(),
    "amount_zscore": pa.float64(),
    "amount_to_prior_mean": pa.float64(),
    "is_first_device_use": pa.bool_(),
    "is_foreign_ip": pa.bool_(),
    "days_since_signup": pa.float64(),
    "customer_prior_transactions": pa.float64(),
    "prior_purchases": pa.float64(),
    "prior_refunds": pa.float64(),
    "prior_chargebacks": pa.float64(),
    "hour_of_day": pa.float64(),
    "is_weekend": pa.bool_(),
}

DEFAULT_RISK_CATALOG: tuple[FeatureSpec, ...] = tuple(
    FeatureSpec(name, group, transform)
    for name, group, transform in (
        ("amount", "amount", "log"),
        ("amount_zscore", "amount", "scale"),
        ("amount_to_prior_mean", "amount", "log"),
        ("customer_purchase_amount_last_day", "velocity", "log"),
        ("customer_transactions_last_hour", "velocity", "log"),
        ("customer_transactions_last_day", "velocity", "log"),
        ("customer_transactions_last_week", "velocity", "log"),
        ("customer_purchase_amount_last_week", "velocity", "log"),
        ("device_transactions_last_hour", "device", "log"),
        ("device_transactions_last_day", "device", "log"),
        ("device_customers", "device", "log"),
        ("device_prior_chargebacks", "device", "log"),
        ("is_first_device_use", "device", "passthrough"),
        ("is_foreign_ip", "device", "passthrough"),
        ("days_since_signup", "history", "log"),
        ("customer_prior_transactions", "history", "log"),
        ("prior_purchases", "history", "log"),
        ("prior_refunds", "history", "log"),
        ("prior_chargebacks", "history", "log"),
        ("hour_of_day", "time", "scale"),
        ("is_weekend", "time", "passthrough"),
        ("status", "transaction", "onehot"),
        ("payment_method", "transaction", "onehot"),
        ("channel", "transaction", "onehot"),
    )
)
"""The risk features the anomaly and supervised models use when the catalog has no transaction rows."""


def text_column(table: pa.Table, name: str) -> list[str | None]:
    """A column's values as text (None for nulls)."""
    return text_array(table, name).to_pylist()


KEY_COLUMNS = ("transaction_id", "customer_id", "transacted_at")
"""The columns the fraud fit reads for every transaction (labels, time split, customer samples); the
others only for its sampled rows."""


@dataclass(frozen=True)
class RiskRows:
    """A risk table too large to hold whole: its KEY_COLUMNS for every row (in the table's order) and
    `fetch(positions)`, which returns every column of the rows at those positions
    (ascending), as `table.take(positions)` would. FraudScorer.fit reads the sampled rows through it, so
    at 1,000,000 customers it holds 3 of the 27 columns of 8.7 M transactions instead of all of them."""

    keys: pa.Table
    fetch: Callable[[np.ndarray], pa.Table]

    @property
    def num_rows(self) -> int:
        return self.keys.num_rows

    @classmethod
    def of_table(cls, table: pa.Table) -> RiskRows:
        """The rows of a table already in memory."""
        present = [c for c in KEY_COLUMNS if c in table.column_names]

        def fetch(rows: np.ndarray) -> pa.Table:
            # Positions are ascending and distinct: as many as the table's rows are all of them.
            return table if len(rows) == table.num_rows else table.take(pa.array(rows))

        return cls(table.select(present), fetch)


def conform(risk: pa.Table) -> pa.Table:
    """`risk` with derivable features computed when absent and the other known columns added as nulls."""
    if "transaction_id" not in risk.column_names or "customer_id" not in risk.column_names:
        raise KeyError("the risk table needs transaction_id and customer_id columns")
    n = risk.num_rows
    for name, typ in RISK_COLUMNS.items():
        if name not in risk.column_names:
            risk = risk.append_column(name, pa.nulls(n, type=typ))
    return risk


def pick_catalog(catalog: Any, columns: Iterable[str]) -> list[FeatureSpec]:
    """Transaction-level catalog rows (the `entity` column, when present, selects them) whose feature
    is a column of the risk table; the default risk catalog when none is left."""
    specs: list[FeatureSpec] = []
    if catalog is not None:
        rows: Any = catalog
        if isinstance(catalog, pa.Table):
            if "entity" in catalog.column_names:
                keep = pc.is_in(catalog.column("entity"), pa.array(["transaction", "transactions"]))
                catalog = catalog.filter(pc.fill_null(keep, False))
            rows = catalog
        specs = load_catalog(rows)
    cols = set(columns)
    specs = [s for s in specs if s.name in cols]
    if not any(s.transform != "exclude" for s in specs):
        specs = [s for s in DEFAULT_RISK_CATALOG if s.name in cols]
    return specs


def clean_labels(labels: pa.Table | None) -> pa.Table | None:
    """transaction_id -> is_fraud, one row per transaction (the latest label wins), nulls dropped."""
    if labels is None or labels.num_rows == 0:
        return None
    if "transaction_id" not in labels.column_names or "is_fraud" not in labels.column_names:
        raise KeyError("labels need transaction_id and is_fraud columns")
    cols = ["transaction_id", "is_fraud"] + (["labeled_at"] if "labeled_at" in labels.column_names else [])
    t = labels.select(cols)
    t = t.filter(pc.is_valid(t.column("is_fraud")))
    if "labeled_at" in cols:
        t = t.sort_by([("transaction_id", "ascending"), ("labeled_at", "ascending")])
    ids = text_column(t, "transaction_id")
    fraud = t.column("is_fraud").to_pylist()
    latest: dict[str, bool] = {}
    for tid, y in zip(ids, fraud, strict=True):
        if tid is not None:
            latest[tid] = bool(y)
    if not latest:
        return None
    return pa.table({"transaction_id": list(latest), "is_fraud": list(latest.values())})


def customer_codes(table: pa.Table) -> np.ndarray:
    """A code per row, one per distinct customer_id (in order of first appearance)."""
    ids = pc.fill_null(pc.cast(table.column("customer_id"), pa.string()), "")
    return np.asarray(pc.dictionary_encode(ids).combine_chunks().indices)


def float_time(table: pa.Table) -> np.ndarray:
    """transacted_at as float seconds (NaN when null or absent), for ordering."""
    if "transacted_at" not in table.column_names:
        return np.zeros(table.num_rows)
    col = table.column("transacted_at")
    if pa.types.is_string(col.type):
        col = pc.cast(col, pa.timestamp("us"))
    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
        col = pc.cast(pc.cast(col, pa.timestamp("us")), pa.int64())
    return np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def join_labels(table: pa.Table, labels: pa.Table | None) -> tuple[np.ndarray, np.ndarray]:
    """(is_fraud per row, indices of the labelled rows)."""
    n = table.num_rows
    y = np.zeros(n, dtype=bool)
    if labels is None:
        return y, np.zeros(0, dtype=np.int64)
    ids = table.column("transaction_id")
    if not pa.types.is_string(ids.type):
        ids = pc.cast(ids, pa.string())
    pos = pc.index_in(ids, value_set=labels.column("transaction_id"))
    pos_np = pc.fill_null(pos, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    labelled = np.flatnonzero(pos_np >= 0)
    lab = np.asarray(labels.column("is_fraud").to_numpy(zero_copy_only=False), dtype=bool)
    y[labelled] = lab[pos_np[labelled]]
    return y, labelled
