"""The recommender's blends: how much each candidate signal counts, learned on a time split.

The candidates and their signals are computed in SQL (int_customers_recommendation_candidates); this
module only learns the weights of linear scores from what customers went on to buy, with a logistic
regression (scikit-learn: a well-kept, deterministic solver, and the weights stay readable). The
weights are stored on the original scale of the signals so SQL applies them with one sum.

Two blends: 'item', P(the customer buys this item in the next horizon), over every candidate; and
'discovery', P(the customer starts buying in this item's category in the next horizon), over the
candidates from categories new to the customer, which chooses the discovery slots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from sklearn.linear_model import LogisticRegression

BLEND_SIGNALS = (
    "bought_before",
    "log_own_orders",
    "own_recency",
    "repeat_propensity",
    "category_share",
    "copurchase_score",
    "segment_share",
    "global_share",
)
DISCOVERY_SIGNALS = (
    "global_share",
    "segment_share",
    "copurchase_score",
    "category_adoption_rate",
    "category_transition",
)
# blend name -> (signals, label column, rows it learns from)
BLENDS = {
    "item": (BLEND_SIGNALS, "is_bought_next", "every candidate"),
    "discovery": (DISCOVERY_SIGNALS, "is_category_bought_next", "candidates from new categories"),
}
MIN_POSITIVES = 20
# Used only when no blend can be learned (no purchases with items in the window that follows the past
# as-of date): own history first, then what goes with it, then what the segment and everyone buy.
FALLBACK_WEIGHTS = {
    "intercept": -4.0,
    "bought_before": 1.0,
    "log_own_orders": 1.0,
    "own_recency": 1.0,
    "repeat_propensity": 1.0,
    "category_share": 1.0,
    "copurchase_score": 2.0,
    "segment_share": 4.0,
    "global_share": 4.0,
}
# The discovery blend's fallback: the categories customers start buying most, then popular items.
DISCOVERY_FALLBACK_WEIGHTS = {
    "intercept": -4.0,
    "global_share": 4.0,
    "segment_share": 4.0,
    "copurchase_score": 2.0,
    "category_adoption_rate": 10.0,
    "category_transition": 10.0,
}
FALLBACKS = {"item": FALLBACK_WEIGHTS, "discovery": DISCOVERY_FALLBACK_WEIGHTS}
WEIGHTS_SCHEMA = pa.schema(
    [
        ("blend", pa.string()),
        ("applies_to_snapshot", pa.string()),
        ("fitted_on_snapshot", pa.string()),
        ("signal", pa.string()),
        ("weight", pa.float64()),
        ("method", pa.string()),
        ("training_rows", pa.int64()),
        ("positives", pa.int64()),
    ]
)


@dataclass(frozen=True)
class BlendConfig:
    """How the blend is learned."""

    regularisation: float = 1.0
    """Inverse L2 strength of the logistic regression (scikit-learn's C)."""
    max_iter: int = 1000


def fit_blend(
    table: pa.Table, config: BlendConfig | None = None, blend: str = "item"
) -> tuple[dict[str, float], str, int, int]:
    """Weights (with 'intercept') of the blend's signals for P(label | candidate), the method used, the
    rows and the positives it learned from. Falls back to fixed weights when the labels cannot train."""
    cfg = config or BlendConfig()
    signals, label, _ = BLENDS[blend]
    fallback = FALLBACKS[blend]
    rows = table.num_rows
    if rows == 0:
        return dict(fallback), "fallback: no candidates at the past as-of date", 0, 0
    y = np.asarray(table.column(label).to_numpy(zero_copy_only=False), dtype=bool)
    positives = int(y.sum())
    if positives < MIN_POSITIVES or positives == rows:
        reason = f"fallback: {positives} of {rows} candidates bought in the window (need {MIN_POSITIVES})"
        return dict(fallback), reason, rows, positives
    X = np.column_stack(
        [np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=np.float64) for name in signals]
    )
    X = np.nan_to_num(X, nan=0.0)
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    Xs = (X - mean) / scale
    # Every signal is evidence for the item (more of it never makes a purchase less likely), so the blend
    # is kept monotone: a signal whose weight comes out negative (collinear with another, such as global
    # and segment popularity) is dropped and the rest refitted, until every weight is at least zero.
    kept = list(range(len(signals)))
    while True:
        model = LogisticRegression(C=cfg.regularisation, max_iter=cfg.max_iter).fit(Xs[:, kept], y)
        coefficients = model.coef_[0]
        if (coefficients >= 0).all() or len(kept) == 1:
            break
        kept.pop(int(np.argmin(coefficients)))
    weights_full = np.zeros(len(signals))
    weights_full[kept] = np.clip(coefficients, 0, None) / scale[kept]
    weights = {"intercept": float(model.intercept_[0] - (weights_full * mean).sum())}
    weights.update({name: float(w) for name, w in zip(signals, weights_full, strict=True)})
    return weights, "logistic regression, monotone", rows, positives


def blend_weights_table(
    fits: Iterable[tuple[str, str, str, pa.Table]],
    config: BlendConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> pa.Table:
    """One row per (blend, applies_to_snapshot, signal): the weights learned on each (blend, fitted_on,
    applies_to, candidates) quadruple."""
    rows = []
    for blend, fitted_on, applies_to, table in fits:
        weights, method, n, positives = fit_blend(table, config, blend)
        if progress:
            progress(
                f"{blend} blend for '{applies_to}' learned on '{fitted_on}': {method}, {n} candidates, "
                f"{positives} bought; " + ", ".join(f"{k}={v:.3f}" for k, v in weights.items())
            )
        rows += [
            {
                "blend": blend,
                "applies_to_snapshot": applies_to,
                "fitted_on_snapshot": fitted_on,
                "signal": signal,
                "weight": weight,
                "method": method,
                "training_rows": n,
                "positives": positives,
            }
            for signal, weight in weights.items()
        ]
    return pa.Table.from_pylist(rows, schema=WEIGHTS_SCHEMA)
