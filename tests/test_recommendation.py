"""The recommender's blend: learned weights that never count a signal against an item, and a fallback
that says why when the labels cannot train."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from sklearn.linear_model import LogisticRegression

from customer_ml.recommendation.blend import (
    BLEND_SIGNALS,
    DISCOVERY_FALLBACK_WEIGHTS,
    DISCOVERY_SIGNALS,
    FALLBACK_WEIGHTS,
    blend_weights_table,
    fit_blend,
)


def _candidates(n: int = 4000, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    columns = {name: rng.random(n) for name in BLEND_SIGNALS}
    # Global popularity nearly duplicates segment popularity: alone it would take a negative weight.
    columns["global_share"] = columns["segment_share"] * 0.9 + rng.normal(0, 0.01, n)
    logit = (
        -3 + 2.5 * columns["log_own_orders"] + 2.0 * columns["segment_share"] - 1.0 * columns["global_share"]
    )
    columns["is_bought_next"] = rng.random(n) < 1 / (1 + np.exp(-logit))
    # New categories are taken up after the customer's categories, whatever the item's popularity.
    columns["category_adoption_rate"] = rng.random(n) * 0.1
    columns["category_transition"] = rng.random(n) * 0.3
    category_logit = -3 + 12 * columns["category_transition"]
    columns["is_category_bought_next"] = rng.random(n) < 1 / (1 + np.exp(-category_logit))
    return pa.table(columns)


def test_weights_are_learned_monotone_and_deterministic() -> None:
    table = _candidates()
    weights, method, rows, positives = fit_blend(table)
    assert method == "logistic regression, monotone" and rows == 4000 and 0 < positives < rows
    assert all(weights[name] >= 0 for name in BLEND_SIGNALS)
    # Unconstrained, the signals without an effect here (bought_before, own_recency, copurchase_score)
    # take small negative weights: the monotone blend drops them and refits the rest (its weights are the
    # refit's), rather than clipping them to zero beside weights fitted with them.
    X = np.column_stack([table.column(name).to_numpy() for name in BLEND_SIGNALS])
    mean, scale, y = X.mean(axis=0), X.std(axis=0), table["is_bought_next"]
    plain = LogisticRegression(max_iter=1000).fit((X - mean) / scale, y).coef_[0]
    negative = [j for j, w in enumerate(plain) if w < 0]
    kept = [j for j in range(len(BLEND_SIGNALS)) if j not in negative]
    assert negative and all(weights[BLEND_SIGNALS[j]] == 0.0 for j in negative)
    refit = LogisticRegression(max_iter=1000).fit((X[:, kept] - mean[kept]) / scale[kept], y).coef_[0]
    learned = np.array([weights[BLEND_SIGNALS[j]] for j in kept])
    assert (refit > 0).all() and np.allclose(learned, refit / scale[kept], rtol=1e-3)
    assert not np.allclose(learned, plain[kept] / scale[kept], rtol=1e-2)
    assert weights["log_own_orders"] > 1.0  # the signal that drives the purchases is found
    assert fit_blend(table)[0] == weights


def test_too_few_purchases_fall_back_and_say_why() -> None:
    table = _candidates(n=300)
    table = table.set_column(
        table.schema.get_field_index("is_bought_next"), "is_bought_next", pa.array([False] * 300)
    )
    weights, method, _, positives = fit_blend(table)
    assert weights == FALLBACK_WEIGHTS and positives == 0 and method.startswith("fallback: 0 of 300")


def test_discovery_blend_learns_category_take_up_on_its_own_label() -> None:
    weights, method, _, positives = fit_blend(_candidates(), blend="discovery")
    assert method == "logistic regression, monotone" and positives > 0
    assert set(weights) == {"intercept", *DISCOVERY_SIGNALS}
    assert weights["category_transition"] > 5  # the driver, on its own scale (12 in the simulation)
    assert weights["category_transition"] > weights["global_share"]
    table = _candidates(n=300)
    none_bought = pa.array([False] * 300)
    label = table.schema.get_field_index("is_category_bought_next")
    table = table.set_column(label, "is_category_bought_next", none_bought)
    assert fit_blend(table, blend="discovery")[0] == DISCOVERY_FALLBACK_WEIGHTS


def test_weights_table_has_one_row_per_blend_snapshot_and_signal() -> None:
    table = blend_weights_table(
        [
            ("item", "training", "current", _candidates()),
            ("item", "backtest", "training", _candidates(seed=1)),
            ("discovery", "training", "current", _candidates()),
        ]
    )
    assert table.num_rows == 2 * (len(BLEND_SIGNALS) + 1) + len(DISCOVERY_SIGNALS) + 1
    assert set(table.column("applies_to_snapshot").to_pylist()) == {"current", "training"}
    assert set(table.column("blend").to_pylist()) == {"item", "discovery"}
