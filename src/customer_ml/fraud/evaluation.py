"""The fraud scorer's evaluation on held-out labelled transactions: the blended score against the
IsolationForest baseline, the autoencoder alone and the supervised model alone."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from customer_ml.fraud.flagging import f1_at

__all__ = ["evaluation_rows", "metric_rows"]


def metric_rows(
    model: str, y: np.ndarray, s: np.ndarray, threshold: float, alert_threshold: float
) -> list[dict[str, Any]]:
    """AUC-ROC, PR-AUC, F1 at `threshold`, precision and recall at the alert-rate threshold."""
    both = bool(y.any() and (~y).any())
    alerted = s >= alert_threshold
    values = {
        "auc_roc": float(roc_auc_score(y, s)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, s)) if both else float("nan"),
        "f1": f1_at(y, s, threshold),
        "precision_at_alert_rate": float(np.mean(y[alerted])) if alerted.any() else float("nan"),
        "recall_at_alert_rate": float(np.mean(alerted[y])) if y.any() else float("nan"),
        "n_evaluated": float(len(y)),
        "n_fraud": float(np.sum(y)),
    }
    return [{"task": "fraud", "model": model, "metric": k, "value": v} for k, v in values.items()]


def evaluation_rows(
    y: np.ndarray,
    score: np.ndarray,
    baseline: np.ndarray,
    anomaly: np.ndarray,
    supervised: np.ndarray | None,
    thresholds: dict[str, float],
    alert_rate: float,
) -> list[dict[str, Any]]:
    """Metric rows of every model on the labelled rows `y`. `thresholds`: the scorer's `threshold`,
    `alert_threshold`, `baseline_threshold`, `baseline_alert_threshold` and `supervised_alert_threshold`;
    `supervised`: None without a supervised model. The autoencoder and the supervised model have no
    flagging threshold of their own, so no F1."""
    rows = metric_rows("blended", y, score, thresholds["threshold"], thresholds["alert_threshold"])
    rows += metric_rows(
        "isolation_forest",
        y,
        baseline,
        thresholds["baseline_threshold"],
        thresholds["baseline_alert_threshold"],
    )
    rows += metric_rows("autoencoder", y, anomaly, 2.0, 1.0 - alert_rate)
    if supervised is not None:
        rows += metric_rows("supervised", y, supervised, 0.5, thresholds["supervised_alert_threshold"])
    return [r for r in rows if not (r["model"] in ("autoencoder", "supervised") and r["metric"] == "f1")]
