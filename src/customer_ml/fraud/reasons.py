"""Reasons in plain words: for each scored transaction the signals that raised its fraud score most, and
for each customer the reasons of their riskiest transactions."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer_ml.features.preprocessing import numeric_column
from customer_ml.fraud.config import RULES, FraudConfig
from customer_ml.fraud.rules import COUNT_TEXTS, plural
from customer_ml.fraud.signals import Signals
from customer_ml.warehouse.arrow import to_arrow

__all__ = [
    "FEATURE_RULE",
    "customer_rollup",
    "customer_rollup_relation",
    "feature_text",
    "merged_reasons",
    "write_reasons",
]

RISKIEST_TRANSACTIONS = 3
"""A customer's reasons come from this many of their riskiest transactions (both rollups below)."""

FEATURE_RULE = {
    "customer_transactions_last_hour": "velocity",
    "customer_transactions_last_day": "velocity",
    "device_transactions_last_hour": "velocity",
    "device_transactions_last_day": "velocity",
    "device_customers": "shared_device",
    "is_first_device_use": "new_device_foreign_ip",
    "is_foreign_ip": "new_device_foreign_ip",
    "prior_chargebacks": "chargeback_history",
    "amount_zscore": "amount_spike",
}
"""The rule each risk feature stands behind: a feature that raised the model's score adds to its rule's
reason when that rule fires, rather than being named twice."""


def top_share_text(pct: float) -> str:
    share = max(1.0 - pct, 0.0)
    if share <= 0.01:
        return "top 1%"
    return f"top {math.ceil(share * 100 - 1e-9)}%"


def feature_text(name: str, value: Any, present: bool = True) -> str:
    """A risk feature's `value` (of one row) in words, as a reason the model raised its score; `present`:
    whether the risk table has the column at all."""
    if not present:
        return f"{name.replace('_', ' ')} (model)"
    if value is None:
        missing = {"device_customers": "no device recorded", "is_foreign_ip": "IP country unknown"}
        return missing.get(name, f"{name.replace('_', ' ')} unknown") + " (model)"
    if name in COUNT_TEXTS:
        k = int(round(float(value)))
        if k == 0 and name == "customer_prior_transactions":
            return "first transaction of this customer"
        return f"{k} " + COUNT_TEXTS[name].format(s="" if k == 1 else "s")
    if name in ("status", "payment_method", "channel"):
        label = {"status": "status", "payment_method": "paid by", "channel": "channel"}[name]
        return f"{label} {value}"
    if name == "is_first_device_use":
        return "first use of this device by the customer" if value else "a device the customer used before"
    if name == "is_foreign_ip":
        return "IP country differs from the customer's" if value else "IP country is the customer's own"
    if name == "is_weekend":
        return "on a weekend" if value else "on a weekday"
    v = float(value)
    texts = {
        "amount": f"amount {v:,.2f}",
        "amount_zscore": f"amount {v:+.1f} standard deviations from the customer's usual",
        "amount_to_prior_mean": f"amount {v:.1f} times the customer's average",
        "customer_purchase_amount_last_day": f"{v:,.2f} spent by this customer in the last 24 hours",
        "customer_purchase_amount_last_week": f"{v:,.2f} spent by this customer in the last 7 days",
        "device_customers": f"{int(round(v))} customers on this device",
        "days_since_signup": f"{'new ' if v < 90 else ''}account, {plural(v, 'day')} old",
        "hour_of_day": f"at {int(v):02d}:00",
    }
    return texts.get(name, f"{name.replace('_', ' ')} {v:g}")


def write_reasons(
    table: pa.Table,
    signals: Signals,
    rule_texts: list[list[str | None]],
    contrib: np.ndarray,
    flagged: np.ndarray,
    cfg: FraudConfig,
    supervised_weight: float | None,
    feature_effects: Callable[[np.ndarray], tuple[list[str], np.ndarray]],
) -> list[str | None]:
    """Up to `n_reasons` reasons per transaction in plain words, largest contribution first; at least one
    when flagged, null when there are none. The supervised model's part is named by the features that
    raised its score most for that transaction (a feature behind an active rule adds to that rule)."""
    anomaly, strengths, supervised = signals.anomaly, signals.rules, signals.supervised
    n = len(anomaly)
    has_sup = supervised_weight is not None
    sup = contrib.shape[1] - 1
    active = np.column_stack(
        [
            anomaly >= 1.0 - cfg.anomaly_reason_share,
            strengths > 0,
            (np.nan_to_num(supervised, nan=0.0) >= cfg.supervised_reason_probability) & has_sup,
        ]
    )
    shown = active & (contrib > 0)
    explain = np.flatnonzero(shown.any(axis=1) | flagged)
    out: list[str | None] = [None] * n
    sup_rows = explain[(shown[explain, sup] | flagged[explain]) & has_sup] if has_sup else explain[:0]
    features, effects = feature_effects(sup_rows)
    effect_row = {int(i): k for k, i in enumerate(sup_rows)}
    weight = supervised_weight or 0.0
    rule_of = {f: RULES.index(r) + 1 for f, r in FEATURE_RULE.items()}

    def value_of(name: str, i: int) -> Any:
        # One row's value of a feature its reasons name, as a Python value: each explained row names a few
        # features, so fetching those values alone is cheaper than converting every explained row's value
        # of every feature named (at 8,685,372 transactions about 0.4 CPU s against 3.9).
        return table.column(name)[i].as_py()

    for i in explain:
        candidates: dict[int | str, float] = {j: float(contrib[i, j]) for j in range(sup) if shown[i, j]}
        k = effect_row.get(int(i))
        if k is not None:
            for f, e in zip(features, effects[k], strict=True):
                if e <= 0 or f == "anomaly":
                    continue
                r = rule_of.get(f)
                if r is not None and shown[i, r]:
                    candidates[r] += max(weight, 0.0) * e
                elif e >= cfg.feature_reason_min_effect:
                    candidates[f] = max(weight, 1e-6) * e
            if not candidates and flagged[i] and len(features):  # the feature that raised it most
                best = int(np.argmax(effects[k]))
                if effects[k, best] > 0 and features[best] != "anomaly":
                    candidates[features[best]] = float(effects[k, best])
        if not candidates and flagged[i]:  # the largest contribution that can be named
            ranked = [int(j) for j in np.argsort(-contrib[i], kind="stable")]
            nameable = np.concatenate([[True], strengths[i] > 0, [has_sup]])
            j = [j for j in ranked if nameable[j]][0]
            candidates[j] = float(contrib[i, j])
        texts = []
        for c, _ in sorted(candidates.items(), key=lambda kv: -kv[1])[: cfg.n_reasons]:
            if isinstance(c, str):
                present = c in table.column_names
                texts.append(feature_text(c, value_of(c, int(i)) if present else None, present))
            elif c == 0:
                top = top_share_text(anomaly[i])
                texts.append(f"unusual pattern for this customer (anomaly score in the {top})")
            elif c == sup:
                texts.append("model: similar to confirmed fraud")
            else:
                texts.append(str(rule_texts[c - 1][i]))
        out[i] = "; ".join(texts) if texts else None
    return out


def merged_reasons(texts: list[str | None], n_reasons: int) -> str | None:
    """A customer's reasons from the reasons of their riskiest transactions (`texts`, riskiest first, null
    or empty where a transaction has none): one reason per kind (its numbers aside), the riskiest
    transaction's, at most `n_reasons` of them; null when there is none."""
    seen: list[str] = []
    kinds: set[str] = set()
    for text in texts:
        for r in (text or "").split("; "):
            kind = re.sub(r"\d+(\.\d+)?", "#", r)  # one reason per kind: the riskiest one's
            if r and kind not in kinds:
                seen.append(r)
                kinds.add(kind)
    return "; ".join(seen[:n_reasons]) or None


def customer_rollup(transaction_scores: pa.Table, n_reasons: int) -> pa.Table:
    """One row per customer: fraud_score (the max over their transactions), is_flagged (any flagged
    transaction), n_transactions, n_flagged and top_reasons (from their three riskiest transactions,
    one per kind of reason, at most `n_reasons`)."""
    t = transaction_scores
    if t.num_rows == 0:
        return pa.table(
            {
                "customer_id": pa.array([], pa.string()),
                "fraud_score": pa.array([], pa.float64()),
                "is_flagged": pa.array([], pa.bool_()),
                "n_transactions": pa.array([], pa.int64()),
                "n_flagged": pa.array([], pa.int64()),
                "top_reasons": pa.array([], pa.string()),
            }
        )
    t = t.sort_by([("customer_id", "ascending"), ("fraud_score", "descending")])
    customer_id = t.column("customer_id").combine_chunks()
    n = t.num_rows
    # Customers' first rows, found in Arrow; the counts, the maximum and the flags as numpy reductions
    # over those runs. Only customers whose riskiest transactions carry a reason reach the Python loop.
    after, before = customer_id.slice(1), customer_id.slice(0, n - 1)
    same = pc.or_(
        pc.fill_null(pc.equal(after, before), False), pc.and_(pc.is_null(after), pc.is_null(before))
    )
    starts = np.concatenate([[0], np.flatnonzero(~np.asarray(same.to_numpy(zero_copy_only=False))) + 1])
    ends = np.append(starts[1:], n)
    score = numeric_column(t, "fraud_score")
    flagged = np.asarray(t.column("is_flagged").to_numpy(zero_copy_only=False), dtype=bool)
    n_flagged = np.add.reduceat(flagged.astype(np.int64), starts)
    top = np.flatnonzero((np.arange(n) - np.repeat(starts, ends - starts)) < RISKIEST_TRANSACTIONS)
    reasons = t.column("top_reasons").combine_chunks()
    texts = {
        int(i): text for i, text in zip(top, reasons.take(pa.array(top)).to_pylist(), strict=True) if text
    }
    customer_reasons: list[str | None] = [None] * len(starts)
    for c in np.unique(np.searchsorted(starts, np.fromiter(texts, np.int64, len(texts)), side="right") - 1):
        riskiest = range(starts[c], min(ends[c], starts[c] + RISKIEST_TRANSACTIONS))
        customer_reasons[c] = merged_reasons([texts.get(i) for i in riskiest], n_reasons)
    return pa.table(
        {
            "customer_id": customer_id.take(pa.array(starts)),
            "fraud_score": pa.array(score[starts], pa.float64()),
            "is_flagged": pa.array(n_flagged > 0, pa.bool_()),
            "n_transactions": pa.array(ends - starts, pa.int64()),
            "n_flagged": pa.array(n_flagged, pa.int64()),
            "top_reasons": pa.array(customer_reasons, pa.string()),
        }
    )


def customer_rollup_relation(scores: Any, n_reasons: int) -> pa.Table:
    """`reasons.customer_rollup` of a DuckDB relation of transaction scores (transaction_id, customer_id,
    fraud_score, is_flagged, top_reasons), with the grouping in DuckDB: one row per customer comes back
    instead of every transaction (at 1,000,000 customers 8.7 M rows and their reason texts, sorted in
    Arrow), and only the customers whose three riskiest transactions carry a reason reach Python. The same
    table row for row (tests/test_fraud.py): the riskiest first, ties in transaction_id order, a NaN score
    last as Arrow sorts it; customers in customer_id order, a null id last."""
    ranked = scores.project(
        "customer_id, fraud_score, is_flagged, top_reasons, row_number() over ("
        "partition by customer_id order by isnan(fraud_score), fraud_score desc, transaction_id"
        ") as risk_rank"
    )
    grouped = ranked.aggregate(
        "customer_id, arg_min(fraud_score, risk_rank) as fraud_score, count(*) as n_transactions, "
        "count(*) filter (where is_flagged) as n_flagged, "
        "list(top_reasons order by risk_rank) filter ("
        f"where risk_rank <= {RISKIEST_TRANSACTIONS} and top_reasons != '') as reasons",
        "customer_id",
    ).order("customer_id nulls last")
    table = to_arrow(grouped)
    texts = table.column("reasons").combine_chunks()
    explained = np.flatnonzero(np.asarray(texts.is_valid().to_numpy(zero_copy_only=False), dtype=bool))
    reasons: list[str | None] = [None] * table.num_rows
    for row, riskiest in zip(explained, texts.take(pa.array(explained, pa.int64())).to_pylist(), strict=True):
        reasons[row] = merged_reasons(riskiest, n_reasons)
    n_flagged = pc.cast(table.column("n_flagged"), pa.int64())
    return pa.table(
        {
            "customer_id": table.column("customer_id"),
            "fraud_score": pc.cast(table.column("fraud_score"), pa.float64()),
            "is_flagged": pc.greater(n_flagged, 0),
            "n_transactions": pc.cast(table.column("n_transactions"), pa.int64()),
            "n_flagged": n_flagged,
            "top_reasons": pa.array(reasons, pa.string()),
        }
    )
