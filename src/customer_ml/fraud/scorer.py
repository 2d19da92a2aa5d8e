"""Transaction fraud scoring: an autoencoder anomaly score, plain-words rules and, where labels exist, a
supervised model, blended into one 0-1 fraud score with a flagging threshold and the reasons behind it.

Input is one row per transaction with point-in-time risk features (the dbt model `int_transactions_risk`);
any risk column may be null or absent (int_transactions_risk computes every risk feature in SQL, from a
transactions-only file too; a column absent here is null and its rules stay silent). Labels (`fraud_labels`:
transaction_id, is_fraud, labeled_at) are optional and may cover only part of the transactions.

The pieces:

- anomaly: an adversarially trained autoencoder (`customer_ml.nn.autoencoder`) on the catalog-preprocessed
  risk features; `anomaly_score` is the percentile of a transaction's reconstruction error among the
  training transactions (0-1).
- rules (graded 0-1, 0.5 at the threshold rising to 1 at twice it): velocity (customer or device
  transactions in the last hour / day), shared device (`device_customers`), a new device with a foreign IP
  country, earlier chargebacks, an amount far above the customer's history (`amount_zscore`).
- supervised (with enough confirmed fraud): labels are a biased sample (reviewed or reported
  transactions, far richer in fraud than the population), and an unlabelled transaction is unknown, not
  legitimate. The transactions "matured" for labelling (dated up to the latest labelled one) are split by
  time; the latest `holdout_fraction` are held out. A HistGradientBoostingClassifier learns confirmed fraud
  against every other matured transaction (labelled legitimate or unlabelled; at most `train_sample_size`
  unlabelled ones, weighted up), i.e. P(confirmed | x), which ranks like P(fraud | x) when confirmation
  does not depend on x among fraud.
- blend: with labels, a logistic regression stacked on [anomaly strength, rule strengths, supervised logit]
  fitted on out-of-fold supervised scores of the training part, then calibrated isotonically on those
  out-of-fold and the held-out scores. Without labels, a noisy-or with fixed weights:
  ``1 - (1 - anomaly_weight * percentile ** anomaly_power) * prod_r (1 - rule_weight_r * strength_r)``.
- population calibration: the label frequency c (share of fraud that gets confirmed; Elkan and Noto,
  2008) is read where the model is surest, among the matured rows scored above the better half of the
  confirmed fraud: confirmed fraud over confirmed fraud plus unlabelled rows there. The fraud score is
  min(1, P(confirmed | x) / c), an estimate of P(fraud | x) on the whole population.
- flagging: with labels, the threshold with the best expected F1 on the whole population (the scores taken
  as fraud probabilities: expected precision = mean score of the flagged rows, expected recall = their
  score sum over the total), or the one meeting an alert budget (`alert_share`, `alerts_per_day`) or a
  `target_precision`; without usable labels, the score quantile that flags `alert_rate` (or the budget).
  The expected precision, recall, F1 and fraud rate at the threshold, per transaction and per customer,
  with bootstrap intervals (resampling the rows behind c and the population; the fitted models are held
  fixed), are the `population_*` metrics.
"""

from __future__ import annotations

import dataclasses
import math
import pickle
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
from sklearn.exceptions import NotFittedError
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from customer_ml.features.preprocessing import (
    MISSING_SUFFIX,
    FeaturePreprocessor,
    FeatureSpec,
    load_catalog,
    numeric_column,
)
from customer_ml.nn.autoencoder import AdversarialAutoencoder, AutoencoderNet
from customer_ml.nn.device import cpu_threads, resolve_device
from customer_ml.segmentation.config import AutoencoderConfig
from customer_ml.serialization import jsonable
from customer_ml.warehouse.progress import Progress, Say

__all__ = [
    "DEFAULT_RISK_CATALOG",
    "FLAGGING_FIELDS",
    "RULES",
    "FraudConfig",
    "FraudScorer",
    "flagging_change",
]

RECORD_VERSION = 1
TIE_BREAK = 1e-6
SCORE_BATCH_ROWS = 250_000
"""Transactions scored at a time (bounds the model matrix and the reasons in memory)."""
"""Weight of the uncalibrated score in the fraud score: it only orders rows the calibration ties."""
RULES = ("velocity", "shared_device", "new_device_foreign_ip", "chargeback_history", "amount_spike")
"""Rule signals, in the order of `FraudConfig.rule_weights` and of the `rule_<name>` output columns."""

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


def _default_autoencoder() -> AutoencoderConfig:
    # At most 200 steps an epoch: on 20,000 demo customers' transactions the cap of 50 that suits the
    # segmentation model cut the anomaly score's PR-AUC from 0.788 to 0.740; 200 leaves it unchanged there
    # and still bounds an epoch on millions of transactions.
    return AutoencoderConfig(
        hidden=(64, 32), embedding_dim=8, batch_size=512, max_epochs=25, patience=4, max_batches_per_epoch=200
    )


@dataclass(frozen=True)
class FraudConfig:
    """Hyperparameters of `FraudScorer`; the defaults work on the demo data."""

    seed: int = 42
    device: str = "cpu"
    n_threads: int = 1
    """CPU threads for torch and OpenMP while fitting and scoring (small models gain nothing from more, and
    oversubscribed cores slow gradient boosting down by orders of magnitude)."""
    alert_rate: float = 0.01
    """Share of transactions flagged when the threshold is set by alert rate; also the rate at which
    `precision_at_alert_rate` is measured."""
    threshold: Literal["best_f1", "alert_rate"] = "best_f1"
    """`best_f1`: the best expected F1 on the whole population (falls back to `alert_rate` without usable
    labels); `alert_rate`: flag `alert_rate` of the transactions. An alert budget or a target precision,
    when set, takes precedence over both."""
    alert_share: float | None = None
    """Alert budget as a share of transactions: flag this share of the fitted transactions."""
    alerts_per_day: float | None = None
    """Alert budget as flags per day: flag this many per day of the fitted transactions' span, on average."""
    target_precision: float | None = None
    """Flag as much as possible while the expected precision on the population stays at least this."""
    n_bootstrap: int = 200
    """Bootstrap resamples behind the intervals of the expected precision, recall and fraud rate."""
    interval: float = 0.9
    """Coverage of those intervals."""
    holdout_fraction: float = 0.25
    """Latest share (by transacted_at) of the labelled transactions held out for threshold and evaluation."""
    min_labels_per_class: int = 10
    """Fewest fraud and fewest legitimate labels needed in the training part for the supervised model
    (and in the held-out part for the best-F1 threshold and the evaluation)."""
    train_sample_size: int = 100_000
    """Transactions (seeded sample) on which the autoencoder and the IsolationForest baseline are fitted."""
    velocity_hour: int = 3
    """Transactions of a customer or device in the last hour at which the velocity rule starts."""
    velocity_day: int = 10
    """Transactions of a customer or device in the last 24 hours at which the velocity rule starts."""
    shared_device_customers: int = 3
    """Customers seen on a device at which the shared-device rule starts."""
    amount_zscore: float = 3.0
    """Standard deviations above the customer's earlier orders at which the amount rule starts."""
    anomaly_power: float = 20.0
    """Unlabelled blend: anomaly strength = percentile ** power (0.12 at the 90th, 0.82 at the 99th)."""
    anomaly_weight: float = 0.6
    """Unlabelled blend: weight of the anomaly strength in the noisy-or."""
    rule_weights: tuple[float, ...] = (0.8, 0.8, 0.7, 0.6, 0.5)
    """Unlabelled blend: weight of each rule (order of `RULES`) in the noisy-or."""
    anomaly_reason_share: float = 0.05
    """The anomaly is given as a reason when the transaction is in this top share of anomaly scores."""
    supervised_reason_probability: float = 0.5
    """The supervised model is given as a reason from this probability on."""
    n_reasons: int = 3
    feature_reason_min_effect: float = 0.5
    """A feature is named as a reason when it raised the supervised model's log-odds by at least this."""
    supervised_max_iter: int = 200
    supervised_learning_rate: float = 0.05
    n_stack_folds: int = 5
    isolation_forest_estimators: int = 200
    autoencoder: AutoencoderConfig = field(default_factory=_default_autoencoder)

    def __post_init__(self) -> None:
        if len(self.rule_weights) != len(RULES):
            raise ValueError(f"rule_weights needs one weight per rule {RULES}")
        if not 0 < self.alert_rate < 1:
            raise ValueError("alert_rate must lie in (0, 1)")
        if not 0 < self.holdout_fraction < 1:
            raise ValueError("holdout_fraction must lie in (0, 1)")
        if self.threshold not in ("best_f1", "alert_rate"):
            raise ValueError(f"unknown threshold method {self.threshold!r}")
        budgets = [self.alert_share, self.alerts_per_day, self.target_precision]
        if sum(b is not None for b in budgets) > 1:
            raise ValueError("set at most one of alert_share, alerts_per_day and target_precision")
        if self.alert_share is not None and not 0 < self.alert_share < 1:
            raise ValueError("alert_share must lie in (0, 1)")
        if self.alerts_per_day is not None and not self.alerts_per_day > 0:
            raise ValueError("alerts_per_day must be positive")
        if self.target_precision is not None and not 0 < self.target_precision < 1:
            raise ValueError("target_precision must lie in (0, 1)")
        if self.n_bootstrap < 0 or not 0 < self.interval < 1:
            raise ValueError("n_bootstrap must be >= 0 and interval in (0, 1)")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable nested dict."""
        return jsonable(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FraudConfig:
        """Inverse of `to_dict`; missing keys take their defaults, unknown keys raise."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown FraudConfig keys: {sorted(unknown)}")
        kwargs = dict(data)
        if "rule_weights" in kwargs:
            kwargs["rule_weights"] = tuple(kwargs["rule_weights"])
        if "autoencoder" in kwargs:
            ae = dict(kwargs["autoencoder"])
            if "hidden" in ae:
                ae["hidden"] = tuple(ae["hidden"])
            kwargs["autoencoder"] = AutoencoderConfig(**ae)
        return cls(**kwargs)


FLAGGING_FIELDS = ("alert_share", "alerts_per_day", "target_precision")
"""The FraudConfig fields of the flagging rule the dbt vars fraud_<field> set."""


def flagging_change(stored_config: Mapping[str, Any], flagging: Mapping[str, Any]) -> str | None:
    """Why a stored version's flagging rule differs from `flagging` (None when it does not): a stored
    config without the fields (an older version) had none set."""
    unknown = set(flagging) - set(FLAGGING_FIELDS)
    if unknown:
        raise ValueError(f"unknown flagging fields {sorted(unknown)}; known: {FLAGGING_FIELDS}")
    stored = {key: stored_config.get(key) for key in FLAGGING_FIELDS}
    wanted = {key: flagging.get(key) for key in FLAGGING_FIELDS}
    if stored == wanted:
        return None
    return f"flagging rule changed to {wanted} (stored {stored})"


# ------------------------------------------------------------------------------------------ helpers


def _text(table: pa.Table, name: str) -> list[str | None]:
    col = table.column(name)
    if not pa.types.is_string(col.type):
        col = pc.cast(col, pa.string())
    return col.to_pylist()


def _ramp(x: np.ndarray, start: float) -> np.ndarray:
    """0 below `start`, 0.5 at it, rising linearly to 1 at twice it (NaN counts as 0)."""
    x = np.nan_to_num(x, nan=-np.inf)
    graded = np.clip(0.5 + 0.5 * (x - start) / max(start, 1e-9), 0.5, 1.0)
    return np.where(x >= start, graded, 0.0)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def _anomaly_strength(pct: np.ndarray) -> np.ndarray:
    """-log10 of the share of training transactions at least as anomalous (0 to 4)."""
    return -np.log10(np.clip(1.0 - pct, 1e-4, 1.0))


def _top_share_text(pct: float) -> str:
    share = max(1.0 - pct, 0.0)
    if share <= 0.01:
        return "top 1%"
    return f"top {math.ceil(share * 100 - 1e-9)}%"


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

_COUNTS = {
    "customer_transactions_last_hour": "transaction{s} by this customer in the last hour",
    "customer_transactions_last_day": "transaction{s} by this customer in the last 24 hours",
    "customer_transactions_last_week": "transaction{s} by this customer in the last 7 days",
    "device_prior_chargebacks": "earlier chargeback{s} on this device (any customer)",
    "device_transactions_last_hour": "transaction{s} on this device in the last hour",
    "device_transactions_last_day": "transaction{s} on this device in the last 24 hours",
    "customer_prior_transactions": "earlier transaction{s} by this customer",
    "prior_purchases": "earlier purchase{s} by this customer",
    "prior_refunds": "earlier refund{s} by this customer",
    "prior_chargebacks": "earlier chargeback{s} by this customer",
}


def _feature_text(table: pa.Table, name: str, i: int) -> str:
    """A risk feature's value for row `i`, in words, as a reason the model raised its score."""
    if name not in table.column_names:
        return f"{name.replace('_', ' ')} (model)"
    value = table.column(name)[i].as_py()
    if value is None:
        missing = {"device_customers": "no device recorded", "is_foreign_ip": "IP country unknown"}
        return missing.get(name, f"{name.replace('_', ' ')} unknown") + " (model)"
    if name in _COUNTS:
        k = int(round(float(value)))
        if k == 0 and name == "customer_prior_transactions":
            return "first transaction of this customer"
        return f"{k} " + _COUNTS[name].format(s="" if k == 1 else "s")
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
        "days_since_signup": f"{'new ' if v < 90 else ''}account, {_plural(v, 'day')} old",
        "hour_of_day": f"at {int(v):02d}:00",
    }
    return texts.get(name, f"{name.replace('_', ' ')} {v:g}")


def _plural(n: float, word: str) -> str:
    k = int(round(n))
    return f"{k} {word}" + ("" if k == 1 else "s")


def _best_f1_threshold(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """(threshold, F1) maximising F1 of `s >= threshold`."""
    precision, recall, thresholds = precision_recall_curve(y, s)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0)
    i = int(np.argmax(f1[:-1])) if len(thresholds) else 0
    if not len(thresholds):
        return float(np.max(s)), 0.0
    return float(thresholds[i]), float(f1[i])


def _f1_at(y: np.ndarray, s: np.ndarray, threshold: float) -> float:
    pred = s >= threshold
    tp = float(np.sum(pred & y))
    denom = float(np.sum(pred) + np.sum(y))
    return 2 * tp / denom if denom else float("nan")


def _metric_rows(
    model: str, y: np.ndarray, s: np.ndarray, threshold: float, alert_threshold: float
) -> list[dict[str, Any]]:
    """AUC-ROC, PR-AUC, F1 at `threshold`, precision and recall at the alert-rate threshold."""
    both = bool(y.any() and (~y).any())
    alerted = s >= alert_threshold
    values = {
        "auc_roc": float(roc_auc_score(y, s)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, s)) if both else float("nan"),
        "f1": _f1_at(y, s, threshold),
        "precision_at_alert_rate": float(np.mean(y[alerted])) if alerted.any() else float("nan"),
        "recall_at_alert_rate": float(np.mean(alerted[y])) if y.any() else float("nan"),
        "n_evaluated": float(len(y)),
        "n_fraud": float(np.sum(y)),
    }
    return [{"task": "fraud", "model": model, "metric": k, "value": v} for k, v in values.items()]


def _conform(risk: pa.Table) -> pa.Table:
    """`risk` with derivable features computed when absent and the other known columns added as nulls."""
    if "transaction_id" not in risk.column_names or "customer_id" not in risk.column_names:
        raise KeyError("the risk table needs transaction_id and customer_id columns")
    n = risk.num_rows
    for name, typ in RISK_COLUMNS.items():
        if name not in risk.column_names:
            risk = risk.append_column(name, pa.nulls(n, type=typ))
    return risk


def _pick_catalog(catalog: Any, columns: Iterable[str]) -> list[FeatureSpec]:
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


def _clean_labels(labels: pa.Table | None) -> pa.Table | None:
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
    ids = _text(t, "transaction_id")
    fraud = t.column("is_fraud").to_pylist()
    latest: dict[str, bool] = {}
    for tid, y in zip(ids, fraud, strict=True):
        if tid is not None:
            latest[tid] = bool(y)
    if not latest:
        return None
    return pa.table({"transaction_id": list(latest), "is_fraud": list(latest.values())})


def _label_frequency(
    g: np.ndarray, w: np.ndarray, confirmed: np.ndarray, known: np.ndarray, order: np.ndarray | None = None
) -> float:
    """Share of fraud that gets confirmed (Elkan and Noto's label frequency), read where the score is
    highest: among the rows scored above the better half of the confirmed fraud, the confirmed fraud's
    weight over that of every row not known to be legitimate (confirmed fraud and unlabelled rows).
    `order`: np.argsort(-g, kind="stable") when the caller has it (the bootstrap reuses it)."""
    order = np.argsort(-g, kind="stable") if order is None else order
    wc = (w * confirmed)[order]
    total = wc.sum()
    if total <= 0:
        return 1.0
    end = int(np.searchsorted(np.cumsum(wc), 0.5 * total)) + 1
    region = order[:end]
    candidates = float(np.sum(w[region] * (confirmed[region] | ~known[region])))
    return float(np.clip(np.sum(wc[:end]) / max(candidates, 1e-12), 0.01, 1.0))


# ------------------------------------------------------------------------------------------ scorer


class FraudScorer:
    """Scores transactions for fraud (anomaly + rules + supervised model where labels exist).

    `fit(risk, catalog, labels)` learns everything; `score(risk)` gives one row per transaction;
    `customer_scores` rolls them up per customer; `evaluate` compares the blended score with an
    IsolationForest baseline on held-out labelled transactions; `to_record`/`from_record` store and
    restore a fitted scorer.
    """

    def __init__(self, config: FraudConfig | None = None) -> None:
        self.config = config

    @property
    def _cfg(self) -> FraudConfig:
        return self.config or FraudConfig()

    def _check_fitted(self) -> None:
        if not hasattr(self, "preprocessor_"):
            raise NotFittedError("FraudScorer is not fitted yet; call fit() or from_record() first")

    # -- fitting ---------------------------------------------------------------------------------------
    def fit(
        self, risk: pa.Table, catalog: Any = None, labels: pa.Table | None = None, say: Say | None = None
    ) -> FraudScorer:
        """Learn the anomaly model, the IsolationForest baseline and, with labels of both classes, the
        supervised model and the stacked blend; choose the flagging threshold. `say` receives progress
        lines (step done, elapsed, estimate)."""
        with cpu_threads(max(1, self._cfg.n_threads)):
            return self._fit(risk, catalog, labels, Progress(say, "training", 6, "steps", every_s=0))

    def _fit(self, risk: pa.Table, catalog: Any, labels: pa.Table | None, progress: Progress) -> FraudScorer:
        cfg = self._cfg
        progress.update(0, f"{risk.num_rows:,} transactions")
        if risk.num_rows == 0:
            raise ValueError("cannot fit the fraud scorer on an empty table")
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        table = _conform(risk)
        n = table.num_rows

        # Anomaly model and baseline, on a seeded sample.
        specs = _pick_catalog(catalog, table.column_names)
        self.preprocessor_ = FeaturePreprocessor(specs).fit(table)
        self.feature_names_ = list(self.preprocessor_.feature_names_out_)
        X = self.preprocessor_.transform(table)
        sample = (
            np.sort(rng.choice(n, cfg.train_sample_size, replace=False))
            if n > cfg.train_sample_size
            else None
        )
        X_fit = X if sample is None else X[sample]
        progress.step(f"features prepared; next: the autoencoder on {len(X_fit):,} transactions")
        self.feature_reference_ = self._typical_row(X_fit)
        self.autoencoder_: AdversarialAutoencoder | None = None
        self.isolation_forest_: IsolationForest | None = None
        if X.shape[1] > 0:
            self.autoencoder_ = AdversarialAutoencoder(cfg.autoencoder, None, cfg.seed, cfg.device).fit(X_fit)
            errors = self.autoencoder_.reconstruction_error(X_fit).astype(np.float64)
            self.error_quantiles_ = np.quantile(errors, np.linspace(0.0, 1.0, 2001))
            self.isolation_forest_ = IsolationForest(
                n_estimators=cfg.isolation_forest_estimators, random_state=cfg.seed
            ).fit(X_fit)
        else:
            self.error_quantiles_ = np.zeros(2001)
        progress.step("autoencoder and IsolationForest fitted; next: scoring every transaction")
        anomaly = self._anomaly(X)
        strengths, _ = self._rules(table, with_texts=False)
        # The IsolationForest baseline is only compared against: its alert threshold comes from the rows
        # it was fitted on (every row up to train_sample_size), and it scores the held-out rows below.
        self.baseline_alert_threshold_ = float(np.quantile(self._baseline(X_fit), 1 - cfg.alert_rate))
        progress.step("anomaly, rule and baseline scores; next: the supervised model")

        # Labels: confirmed fraud against everything else that had time to be labelled, split by time.
        self.supervised_: HistGradientBoostingClassifier | None = None
        self.stacker_: LogisticRegression | None = None
        self.train_transaction_ids_: list[str] = []
        self.holdout_transaction_ids_: list[str] = []
        self.label_status_ = "no labels"
        self.label_frequency_ = 1.0
        self.metrics_: list[dict[str, Any]] = []
        self.population_: dict[str, float] = {}
        self._frequency_inputs: Any = None
        self.calibrator_: IsotonicRegression | None = None
        y_all, labelled = self._join_labels(table, _clean_labels(labels))
        is_labelled = np.zeros(n, dtype=bool)
        is_labelled[labelled] = True
        confirmed = y_all & is_labelled
        train_idx = holdout_idx = np.zeros(0, dtype=np.int64)
        honest: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        if len(labelled):
            ts_all = _float_time(table)
            # Matured: dated up to the latest labelled transaction; later ones had no time to be labelled.
            latest = np.nanmax(ts_all[labelled]) if np.isfinite(ts_all[labelled]).any() else np.inf
            matured = np.flatnonzero(np.nan_to_num(ts_all, nan=np.inf) <= latest)
            ts = ts_all[matured]
            order = np.argsort(ts, kind="stable")
            matured, ts = matured[order], ts[order]
            cut = ts[min(len(ts) - 1, int(math.floor(len(ts) * (1 - cfg.holdout_fraction))))]
            train_idx, holdout_idx = matured[ts < cut], matured[ts >= cut]
            ids = table.column("transaction_id")
            self.train_transaction_ids_ = [
                str(v) for v in ids.take(train_idx[is_labelled[train_idx]]).to_pylist()
            ]
            self.holdout_transaction_ids_ = [
                str(v) for v in ids.take(holdout_idx[is_labelled[holdout_idx]]).to_pylist()
            ]
            counts = (int(confirmed[train_idx].sum()), int((~confirmed[train_idx]).sum()))
            if min(counts) >= cfg.min_labels_per_class:
                fit_idx, weight = self._training_rows(train_idx, is_labelled, rng)
                oof_score = self._fit_supervised(X, anomaly, strengths, fit_idx, confirmed[fit_idx], weight)
                self.label_status_ = "supervised"
                honest = (
                    fit_idx,
                    oof_score,
                    weight,
                    confirmed[fit_idx] | (is_labelled[fit_idx] & ~y_all[fit_idx]),
                )
            else:
                self.label_status_ = (
                    f"too few labels of a class in training (confirmed fraud {counts[0]}, other {counts[1]})"
                )

        progress.step(f"supervised model: {self.label_status_}; next: calibration and threshold")
        supervised = self._supervised(X, anomaly)
        raw_score, _ = self._blend(anomaly, strengths, supervised)
        if honest is not None and len(holdout_idx):
            # Share of fraud that gets confirmed, from out-of-fold training scores and held-out scores.
            fit_idx, oof_score, weight, known = honest
            rows = np.concatenate([fit_idx, holdout_idx])
            g = np.concatenate([oof_score, raw_score[holdout_idx]])
            w = np.concatenate([weight, np.ones(len(holdout_idx))])
            is_known = np.concatenate([known, is_labelled[holdout_idx]])
            # The stacker's sigmoid misreads the steep top of the score: calibrate it isotonically on the
            # same honest scores (weighted like the rows they stand for) before dividing by the frequency.
            self.calibrator_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
                g, confirmed[rows].astype(float), sample_weight=w
            )
            self._frequency_inputs = (g, w, confirmed[rows], is_known)
            self.label_frequency_ = _label_frequency(g, w, confirmed[rows], is_known)
        score = self._calibrate(raw_score)
        self.alert_threshold_ = float(np.quantile(score, 1 - cfg.alert_rate))
        self.supervised_alert_threshold_ = (
            float(np.quantile(supervised, 1 - cfg.alert_rate)) if self.supervised_ is not None else 1.0
        )
        self.threshold_ = self.alert_threshold_
        self.threshold_method_ = "alert_rate"
        self.baseline_threshold_ = self.baseline_alert_threshold_
        y_hold = y_all[holdout_idx[is_labelled[holdout_idx]]] if len(holdout_idx) else np.zeros(0, bool)
        hold_lab = holdout_idx[is_labelled[holdout_idx]] if len(holdout_idx) else holdout_idx
        usable_holdout = min(int(y_hold.sum()), int((~y_hold).sum())) >= cfg.min_labels_per_class
        baseline_hold = self._baseline(X[hold_lab]) if usable_holdout else np.zeros(0)
        if usable_holdout:
            self.baseline_threshold_, _ = _best_f1_threshold(y_hold, baseline_hold)
        if self.stacker_ is not None:
            self.threshold_, self.threshold_method_ = self._choose_threshold(score, _float_time(table))
        elif cfg.alert_share is not None or cfg.alerts_per_day is not None:
            self.threshold_, self.threshold_method_ = self._choose_threshold(score, _float_time(table))
        if usable_holdout:
            self.metrics_ = self._evaluate_arrays(
                y_hold, score[hold_lab], baseline_hold, anomaly[hold_lab], supervised[hold_lab]
            )
        progress.step("calibrated, threshold chosen; next: expected precision and recall (bootstrap)")
        if self.stacker_ is not None:
            self.population_ = self._population_metrics(table, raw_score, score, rng)
            self.metrics_ += [
                {"task": "fraud", "model": "blended", "metric": f"population_{k}", "value": float(v)}
                for k, v in self.population_.items()
            ]
        self.flag_rate_ = float(np.mean(score >= self.threshold_))
        progress.update(progress.total, f"done; {self.flag_rate_:.2%} of transactions flagged")
        self.n_fit_transactions_ = int(n)
        self._frequency_inputs = None
        return self

    def _training_rows(
        self, train_idx: np.ndarray, is_labelled: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """(rows, weights) of the supervised training set: every labelled row and a seeded sample of at most
        `train_sample_size` unlabelled ones, weighted up to stand for all of them."""
        cap = self._cfg.train_sample_size
        lab = train_idx[is_labelled[train_idx]]
        unl = train_idx[~is_labelled[train_idx]]
        weight_unl = 1.0
        if len(unl) > cap:
            weight_unl = len(unl) / cap
            unl = np.sort(rng.choice(unl, cap, replace=False))
        rows = np.concatenate([lab, unl])
        weight = np.concatenate([np.ones(len(lab)), np.full(len(unl), weight_unl)])
        order = np.argsort(rows, kind="stable")
        return rows[order], weight[order]

    def _calibrate(self, raw_score: np.ndarray) -> np.ndarray:
        """Population fraud probability: the probability of a confirmed fraud over the label frequency."""
        if self.stacker_ is None:
            return raw_score
        calibrated = raw_score if self.calibrator_ is None else self.calibrator_.predict(raw_score)
        # The isotonic steps and the cap at 1 tie many rows; the uncalibrated score, with a weight too
        # small to matter as a probability, orders them, so that an alert budget can cut between them.
        return (1.0 - TIE_BREAK) * np.minimum(1.0, calibrated / self.label_frequency_) + TIE_BREAK * raw_score

    def _choose_threshold(self, score: np.ndarray, ts: np.ndarray) -> tuple[float, str]:
        """(threshold, method): the alert budget, the target precision, the alert rate or the best expected
        F1, all on the whole population with the calibrated scores as fraud probabilities."""
        cfg = self._cfg
        n = len(score)
        order = np.argsort(-score, kind="stable")
        s = score[order]
        if cfg.alert_share is not None or cfg.alerts_per_day is not None:
            share = cfg.alert_share
            method = "alert_share"
            if share is None:
                finite = ts[np.isfinite(ts)]
                days = max((finite.max() - finite.min()) / 86400e6, 1.0) if len(finite) else 1.0
                share = min(1.0, cfg.alerts_per_day * days / n)
                method = "alerts_per_day"
            k = max(1, int(round(share * n)))
            return float(s[k - 1]), method
        if self.stacker_ is None or cfg.threshold == "alert_rate":
            return self.alert_threshold_, "alert_rate"
        cum = np.cumsum(s)
        k = np.arange(1, n + 1)
        # Only cut between distinct scores, so that the threshold flags exactly the rows counted.
        last = np.r_[s[1:] < s[:-1], True]
        if cfg.target_precision is not None:
            ok = (cum / k >= cfg.target_precision) & last
            i = int(np.flatnonzero(ok)[-1]) if ok.any() else 0
            return float(s[i]), "target_precision"
        f1 = np.where(last, 2 * cum / (k + cum[-1]), -1.0)
        return float(s[int(np.argmax(f1))]), "best_f1"

    def _join_labels(self, table: pa.Table, labels: pa.Table | None) -> tuple[np.ndarray, np.ndarray]:
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

    def _supervised_inputs(self, X: np.ndarray, anomaly: np.ndarray) -> np.ndarray:
        return np.column_stack([X, anomaly]) if X.shape[1] else anomaly[:, None]

    def _new_supervised(self) -> HistGradientBoostingClassifier:
        cfg = self._cfg
        return HistGradientBoostingClassifier(
            max_iter=cfg.supervised_max_iter,
            learning_rate=cfg.supervised_learning_rate,
            early_stopping=False,
            random_state=cfg.seed,
        )

    def _fit_supervised(
        self,
        X: np.ndarray,
        anomaly: np.ndarray,
        strengths: np.ndarray,
        idx: np.ndarray,
        y: np.ndarray,
        weight: np.ndarray,
    ) -> np.ndarray:
        """Supervised model on the training rows (confirmed fraud against the rest, weighted); stacker on
        its out-of-fold scores. Returns the stacked score of each training row from out-of-fold inputs."""
        cfg = self._cfg
        Z = self._supervised_inputs(X[idx], anomaly[idx])
        oof = np.zeros(len(idx))
        folds = max(2, min(cfg.n_stack_folds, int(y.sum()), int((~y).sum())))
        for fit_rows, out_rows in StratifiedKFold(folds, shuffle=True, random_state=cfg.seed).split(Z, y):
            model = self._new_supervised().fit(Z[fit_rows], y[fit_rows], sample_weight=weight[fit_rows])
            oof[out_rows] = model.predict_proba(Z[out_rows])[:, 1]
        self.supervised_ = self._new_supervised().fit(Z, y, sample_weight=weight)
        S = self._stack_inputs(anomaly[idx], strengths[idx], oof)
        self.stacker_ = LogisticRegression(C=1.0, max_iter=1000).fit(S, y, sample_weight=weight)
        self.stack_reference_ = np.average(S, axis=0, weights=weight)
        return self.stacker_.predict_proba(S)[:, 1]

    def _population_metrics(
        self, table: pa.Table, raw_score: np.ndarray, score: np.ndarray, rng: np.random.Generator
    ) -> dict[str, float]:
        """Expected precision, recall, F1 and flag rate at the threshold on the whole population (the
        calibrated scores taken as fraud probabilities), per transaction and per customer, with bootstrap
        intervals: resampling the rows behind the label frequency and the scored population."""
        cfg = self._cfg
        flagged = score >= self.threshold_
        codes = np.asarray(
            pc.dictionary_encode(pc.cast(table.column("customer_id"), pa.string())).combine_chunks().indices
        )
        n_customers = int(codes.max()) + 1 if len(codes) else 0
        customer_flagged = np.bincount(codes, flagged.astype(float), n_customers) > 0
        ts = _float_time(table)
        finite = ts[np.isfinite(ts)]
        days = max((finite.max() - finite.min()) / 86400e6, 1.0) if len(finite) else float("nan")

        def measure(p: np.ndarray, w: np.ndarray, cw: np.ndarray) -> dict[str, float]:
            fraud = float(np.sum(w * p))
            hit = float(np.sum(w * p * flagged))
            n_flag = float(np.sum(w * flagged))
            # A customer is fraudulent with at least their riskiest transaction's probability (the
            # noisy-or over all of them would pile up the small calibration floor of honest histories).
            cp = np.zeros(n_customers)
            np.maximum.at(cp, codes, p)
            c_fraud = float(np.sum(cw * cp))
            c_hit = float(np.sum(cw * cp * customer_flagged))
            c_flag = float(np.sum(cw * customer_flagged))
            return {
                "expected_precision": hit / n_flag if n_flag else float("nan"),
                "expected_recall": hit / fraud if fraud else float("nan"),
                "expected_f1": 2 * hit / (n_flag + fraud) if n_flag + fraud else float("nan"),
                "estimated_fraud_rate": fraud / float(np.sum(w)),
                "customer_expected_precision": c_hit / c_flag if c_flag else float("nan"),
                "customer_expected_recall": c_hit / c_fraud if c_fraud else float("nan"),
            }

        point = measure(score, np.ones(len(score)), np.ones(n_customers))
        out = {
            "threshold": float(self.threshold_),
            "flag_rate": float(np.mean(flagged)),
            "flags_per_day": float(np.sum(flagged) / days),
            "customer_flag_rate": float(np.mean(customer_flagged)) if n_customers else float("nan"),
            "label_frequency": float(self.label_frequency_),
            **point,
        }
        inputs = getattr(self, "_frequency_inputs", None)
        if cfg.n_bootstrap and inputs is not None:
            g, w_g, conf, known = inputs
            confirmed_p = raw_score if self.calibrator_ is None else self.calibrator_.predict(raw_score)
            draws: dict[str, list[float]] = {k: [] for k in point}
            draws["label_frequency"] = []
            order = np.argsort(-g, kind="stable")  # the resamples reweight rows; the scores stay
            for _ in range(cfg.n_bootstrap):
                c = _label_frequency(g, w_g * rng.poisson(1.0, len(g)), conf, known, order)
                p = np.minimum(1.0, confirmed_p / c)
                values = measure(p, rng.poisson(1.0, len(p)).astype(float), rng.poisson(1.0, n_customers))
                values["label_frequency"] = c
                for k, v in values.items():
                    draws[k].append(v)
            lo, hi = (1 - cfg.interval) / 2, 1 - (1 - cfg.interval) / 2
            for k, v in draws.items():
                arr = np.asarray(v)
                arr = arr[np.isfinite(arr)]
                out[f"{k}_lower"] = float(np.quantile(arr, lo)) if len(arr) else float("nan")
                out[f"{k}_upper"] = float(np.quantile(arr, hi)) if len(arr) else float("nan")
        return out

    # -- signals ---------------------------------------------------------------------------------------
    def _anomaly(self, X: np.ndarray) -> np.ndarray:
        """Percentile (0-1) of the reconstruction error among the training transactions."""
        if self.autoencoder_ is None or X.shape[0] == 0:
            return np.full(X.shape[0], 0.5)
        err = self.autoencoder_.reconstruction_error(X).astype(np.float64)
        grid = np.linspace(0.0, 1.0, len(self.error_quantiles_))
        return np.interp(err, self.error_quantiles_, grid)

    def _baseline(self, X: np.ndarray) -> np.ndarray:
        """IsolationForest anomaly score (higher is more anomalous)."""
        if self.isolation_forest_ is None or X.shape[0] == 0:
            return np.zeros(X.shape[0])
        return -self.isolation_forest_.score_samples(X)

    def _supervised(self, X: np.ndarray, anomaly: np.ndarray) -> np.ndarray:
        """Supervised fraud probability; NaN without a supervised model."""
        if self.supervised_ is None:
            return np.full(X.shape[0], np.nan)
        return self.supervised_.predict_proba(self._supervised_inputs(X, anomaly))[:, 1]

    def _rules(self, table: pa.Table, with_texts: bool = True) -> tuple[np.ndarray, list[list[str | None]]]:
        """Rule strengths (n x len(RULES), 0-1) and the plain-words reason of each active rule (all None
        without `with_texts`: training needs the strengths only)."""
        cfg = self._cfg
        n = table.num_rows
        strengths = np.zeros((n, len(RULES)))
        texts: list[list[str | None]] = [[None] * n for _ in RULES]

        velocity = [
            (
                "customer_transactions_last_hour",
                cfg.velocity_hour,
                "transaction{s} by this customer in the last hour",
            ),
            (
                "device_transactions_last_hour",
                cfg.velocity_hour,
                "transaction{s} on this device in the last hour",
            ),
            (
                "customer_transactions_last_day",
                cfg.velocity_day,
                "transaction{s} by this customer in the last 24 hours",
            ),
            (
                "device_transactions_last_day",
                cfg.velocity_day,
                "transaction{s} on this device in the last 24 hours",
            ),
        ]
        values = np.column_stack([numeric_column(table, c) for c, _, _ in velocity])
        ramps = np.column_stack([_ramp(values[:, j], t) for j, (_, t, _) in enumerate(velocity)])
        strengths[:, 0] = ramps.max(axis=1)
        which = ramps.argmax(axis=1)

        def active(j: int) -> np.ndarray:
            return np.flatnonzero(strengths[:, j] > 0) if with_texts else np.zeros(0, dtype=np.int64)

        for i in active(0):
            k = int(values[i, which[i]])
            texts[0][i] = f"{k} " + velocity[which[i]][2].format(s="" if k == 1 else "s")

        shared = numeric_column(table, "device_customers")
        strengths[:, 1] = _ramp(shared, cfg.shared_device_customers)
        for i in active(1):
            texts[1][i] = f"{int(shared[i])} customers share this device"

        first = numeric_column(table, "is_first_device_use") == 1
        foreign = numeric_column(table, "is_foreign_ip") == 1
        strengths[:, 2] = (first & foreign).astype(float)
        foreign_rows = active(2)
        if len(foreign_rows):
            ip = _text(table, "ip_country")
            home = _text(table, "customer_country")
            for i in foreign_rows:
                where = ip[i] or "unknown"
                where += f" vs customer's {home[i]}" if home[i] else ""
                texts[2][i] = f"new device with a foreign IP country ({where})"

        chargebacks = numeric_column(table, "prior_chargebacks")
        strengths[:, 3] = _ramp(chargebacks, 1)
        for i in active(3):
            texts[3][i] = _plural(chargebacks[i], "earlier chargeback")

        z = numeric_column(table, "amount_zscore")
        strengths[:, 4] = _ramp(z, cfg.amount_zscore)
        for i in active(4):
            texts[4][i] = f"amount {z[i]:.1f} standard deviations above the customer's usual"
        return strengths, texts

    def _stack_inputs(self, anomaly: np.ndarray, strengths: np.ndarray, supervised: np.ndarray) -> np.ndarray:
        return np.column_stack([_anomaly_strength(anomaly), strengths, _logit(supervised)])

    def _blend(
        self, anomaly: np.ndarray, strengths: np.ndarray, supervised: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(fraud score 0-1, contributions n x (1 + len(RULES) + 1): anomaly, rules, supervised)."""
        cfg = self._cfg
        n = len(anomaly)
        if self.stacker_ is not None:
            S = self._stack_inputs(anomaly, strengths, supervised)
            score = self.stacker_.predict_proba(S)[:, 1]
            contrib = self.stacker_.coef_[0] * (S - self.stack_reference_)
            return score, contrib
        parts = np.column_stack(
            [cfg.anomaly_weight * anomaly**cfg.anomaly_power, strengths * np.asarray(cfg.rule_weights)]
        )
        score = 1.0 - np.prod(1.0 - np.clip(parts, 0.0, 1.0), axis=1)
        return score, np.column_stack([parts, np.zeros(n)])

    def _typical_row(self, X: np.ndarray) -> np.ndarray:
        """The supervised inputs of a typical transaction: each numeric feature at its median, each
        categorical one at its most common category (the anomaly input last, at its median 0.5)."""
        ref = np.median(X, axis=0) if len(X) else np.zeros(X.shape[1])
        for _, cols in self._feature_groups():
            if "=" in self.feature_names_[cols[0]]:
                ref[cols] = 0.0
                ref[cols[int(np.argmax(X[:, cols].mean(axis=0)))]] = 1.0
        return np.append(ref, 0.5).astype(np.float64)

    def _feature_groups(self) -> list[tuple[str, np.ndarray]]:
        """(risk column, indices of its model-matrix columns) for each input feature."""
        groups: dict[str, list[int]] = {}
        for j, name in enumerate(self.feature_names_):
            base = name.split("=", 1)[0]
            base = base[: -len(MISSING_SUFFIX)] if base.endswith(MISSING_SUFFIX) else base
            groups.setdefault(base, []).append(j)
        return [(k, np.asarray(v)) for k, v in groups.items()]

    def _feature_effects(
        self, X: np.ndarray, anomaly: np.ndarray, rows: np.ndarray
    ) -> tuple[list[str], np.ndarray]:
        """(features, effects rows x features): how much each input feature raised the supervised model's
        log-odds for each of `rows`, measured by setting it to its typical value (the training median,
        or the most common category) and scoring again."""
        groups = self._feature_groups()
        reference = getattr(self, "feature_reference_", None)
        if self.supervised_ is None or not len(rows) or reference is None or not groups:
            return [g for g, _ in groups], np.zeros((len(rows), len(groups)))
        Z = self._supervised_inputs(X[rows], anomaly[rows])
        base = _logit(self.supervised_.predict_proba(Z)[:, 1])
        effects = np.zeros((len(rows), len(groups)))
        for k, (_, cols) in enumerate(groups):
            changed = np.any(Z[:, cols] != reference[cols], axis=1)
            if not changed.any():
                continue
            Zk = Z[changed].copy()
            Zk[:, cols] = reference[cols]
            effects[changed, k] = base[changed] - _logit(self.supervised_.predict_proba(Zk)[:, 1])
        return [g for g, _ in groups], effects

    def _reasons(
        self,
        table: pa.Table,
        X: np.ndarray,
        anomaly: np.ndarray,
        strengths: np.ndarray,
        supervised: np.ndarray,
        rule_texts: list[list[str | None]],
        contrib: np.ndarray,
        flagged: np.ndarray,
    ) -> list[str | None]:
        """Up to `n_reasons` reasons per transaction in plain words, largest contribution first; at least one
        when flagged, null when there are none. The supervised model's part is named by the features that
        raised its score most for that transaction (a feature behind an active rule adds to that rule)."""
        cfg = self._cfg
        n = len(anomaly)
        has_sup = self.supervised_ is not None
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
        features, effects = self._feature_effects(X, anomaly, sup_rows)
        effect_row = {int(i): k for k, i in enumerate(sup_rows)}
        weight = float(self.stacker_.coef_[0][-1]) if self.stacker_ is not None else 0.0
        rule_of = {f: RULES.index(r) + 1 for f, r in FEATURE_RULE.items()}
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
                    texts.append(_feature_text(table, c, int(i)))
                elif c == 0:
                    top = _top_share_text(anomaly[i])
                    texts.append(f"unusual pattern for this customer (anomaly score in the {top})")
                elif c == sup:
                    texts.append("model: similar to confirmed fraud")
                else:
                    texts.append(str(rule_texts[c - 1][i]))
            out[i] = "; ".join(texts) if texts else None
        return out

    # -- applying --------------------------------------------------------------------------------------
    def score(self, risk: pa.Table, say: Say | None = None) -> pa.Table:
        """One row per transaction: transaction_id, customer_id, fraud_score, is_flagged, top_reasons,
        anomaly_score, supervised_score (null without a supervised model) and rule_<name> strengths.
        Scored in batches of SCORE_BATCH_ROWS transactions (every output is a function of its own row);
        `say` receives progress lines."""
        self._check_fitted()
        progress = Progress(say, "scoring", risk.num_rows, unit="transactions")
        parts = []
        with cpu_threads(max(1, self._cfg.n_threads)):
            for start in range(0, max(risk.num_rows, 1), SCORE_BATCH_ROWS):
                parts.append(self._score(risk.slice(start, SCORE_BATCH_ROWS)))
                progress.update(min(risk.num_rows, start + SCORE_BATCH_ROWS))
        return pa.concat_tables(parts).combine_chunks() if len(parts) > 1 else parts[0]

    def _score(self, risk: pa.Table) -> pa.Table:
        table = _conform(risk)
        X = self.preprocessor_.transform(table)
        anomaly = self._anomaly(X)
        strengths, texts = self._rules(table)
        supervised = self._supervised(X, anomaly)
        raw_score, contrib = self._blend(anomaly, strengths, supervised)
        score = self._calibrate(raw_score)
        flagged = score >= self.threshold_
        reasons = self._reasons(table, X, anomaly, strengths, supervised, texts, contrib, flagged)
        cols: dict[str, Any] = {
            "transaction_id": table.column("transaction_id"),
            "customer_id": table.column("customer_id"),
            "fraud_score": pa.array(score, pa.float64()),
            "is_flagged": pa.array(flagged),
            "top_reasons": pa.array(reasons, pa.string()),
            "anomaly_score": pa.array(anomaly, pa.float64()),
            "supervised_score": pa.array(supervised, pa.float64(), from_pandas=True),
        }
        for j, name in enumerate(RULES):
            cols[f"rule_{name}"] = pa.array(strengths[:, j], pa.float64())
        return pa.table(cols)

    def baseline_score(self, risk: pa.Table) -> np.ndarray:
        """The IsolationForest baseline's anomaly score of each transaction (higher is more anomalous)."""
        self._check_fitted()
        with cpu_threads(max(1, self._cfg.n_threads)):
            return self._baseline(self.preprocessor_.transform(_conform(risk)))

    def customer_scores(self, transaction_scores: pa.Table) -> pa.Table:
        """One row per customer: fraud_score (the max over their transactions), is_flagged (any flagged
        transaction), n_transactions, n_flagged and top_reasons (from their three riskiest transactions,
        one per kind of reason, at most `n_reasons`)."""
        cfg = self._cfg
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
        customers = t.column("customer_id").to_pylist()
        score = numeric_column(t, "fraud_score")
        flagged = np.asarray(t.column("is_flagged").to_numpy(zero_copy_only=False), dtype=bool)
        reasons = t.column("top_reasons").to_pylist()
        starts = [0] + [i for i in range(1, len(customers)) if customers[i] != customers[i - 1]]
        ends = starts[1:] + [len(customers)]
        rows: dict[str, list[Any]] = {k: [] for k in ("customer_id", "fraud_score", "is_flagged")}
        rows.update({"n_transactions": [], "n_flagged": [], "top_reasons": []})
        for a, b in zip(starts, ends, strict=True):
            seen: list[str] = []
            kinds: set[str] = set()
            for text in reasons[a : min(b, a + 3)]:
                for r in (text or "").split("; "):
                    kind = re.sub(r"\d+(\.\d+)?", "#", r)  # one reason per kind: the riskiest one's
                    if r and kind not in kinds:
                        seen.append(r)
                        kinds.add(kind)
            rows["customer_id"].append(customers[a])
            rows["fraud_score"].append(float(score[a]))
            rows["is_flagged"].append(bool(flagged[a:b].any()))
            rows["n_transactions"].append(b - a)
            rows["n_flagged"].append(int(flagged[a:b].sum()))
            rows["top_reasons"].append("; ".join(seen[: cfg.n_reasons]) or None)
        return pa.table(
            {
                "customer_id": pa.array(rows["customer_id"], t.column("customer_id").type),
                "fraud_score": pa.array(rows["fraud_score"], pa.float64()),
                "is_flagged": pa.array(rows["is_flagged"], pa.bool_()),
                "n_transactions": pa.array(rows["n_transactions"], pa.int64()),
                "n_flagged": pa.array(rows["n_flagged"], pa.int64()),
                "top_reasons": pa.array(rows["top_reasons"], pa.string()),
            }
        )

    # -- evaluation ------------------------------------------------------------------------------------
    def _evaluate_arrays(
        self,
        y: np.ndarray,
        score: np.ndarray,
        baseline: np.ndarray,
        anomaly: np.ndarray,
        supervised: np.ndarray,
    ) -> list[dict[str, Any]]:
        rows = _metric_rows("blended", y, score, self.threshold_, self.alert_threshold_)
        rows += _metric_rows(
            "isolation_forest", y, baseline, self.baseline_threshold_, self.baseline_alert_threshold_
        )
        rows += _metric_rows("autoencoder", y, anomaly, 2.0, 1.0 - self._cfg.alert_rate)
        if self.supervised_ is not None:
            rows += _metric_rows("supervised", y, supervised, 0.5, self.supervised_alert_threshold_)
        return [r for r in rows if not (r["model"] in ("autoencoder", "supervised") and r["metric"] == "f1")]

    def _evaluate_table(self, table: pa.Table, y_all: np.ndarray, idx: np.ndarray) -> list[dict[str, Any]]:
        table = table.take(pa.array(idx))
        X = self.preprocessor_.transform(table)
        anomaly = self._anomaly(X)
        strengths, _ = self._rules(table)
        supervised = self._supervised(X, anomaly)
        raw_score, _ = self._blend(anomaly, strengths, supervised)
        score = self._calibrate(raw_score)
        return self._evaluate_arrays(y_all[idx], score, self._baseline(X), anomaly, supervised)

    def evaluate(self, risk: pa.Table | None = None, labels: pa.Table | None = None) -> pa.Table:
        """Tidy metrics (task, model, metric, value) of the blended score and the IsolationForest baseline
        (plus the autoencoder alone and the supervised model alone): AUC-ROC, PR-AUC, F1 at the flagging
        threshold, precision and recall at the alert-rate threshold. Without arguments: on the held-out
        labelled transactions of `fit`; with `risk` and `labels`: on the labelled rows of `risk`."""
        self._check_fitted()
        schema = pa.schema(
            [("task", pa.string()), ("model", pa.string()), ("metric", pa.string()), ("value", pa.float64())]
        )
        if risk is None and labels is None:
            rows = self.metrics_
        else:
            if risk is None or labels is None:
                raise ValueError("evaluate needs both risk and labels, or neither")
            table = _conform(risk)
            y_all, idx = self._join_labels(table, _clean_labels(labels))
            if len(idx) == 0:
                rows = []
            else:
                with cpu_threads(max(1, self._cfg.n_threads)):
                    rows = self._evaluate_table(table, y_all, idx)
        values = [None if (v is None or not np.isfinite(v)) else float(v) for v in (r["value"] for r in rows)]
        return pa.table(
            {
                "task": [r["task"] for r in rows],
                "model": [r["model"] for r in rows],
                "metric": [r["metric"] for r in rows],
                "value": values,
            },
            schema=schema,
        )

    # -- serialisation ---------------------------------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        """JSON-serialisable config, thresholds, preprocessing state and metrics, plus a `weights` blob
        (bytes) with the fitted models."""
        self._check_fitted()
        blob = {
            "error_quantiles": self.error_quantiles_,
            "autoencoder": None
            if self.autoencoder_ is None
            else {k: v.detach().cpu().numpy() for k, v in self.autoencoder_.net_.state_dict().items()},
            "n_features_in": len(self.feature_names_),
            "isolation_forest": self.isolation_forest_,
            "supervised": self.supervised_,
            "stacker": self.stacker_,
            "calibrator": self.calibrator_,
            "feature_reference": getattr(self, "feature_reference_", None),
            "stack_reference": getattr(self, "stack_reference_", None),
        }
        return {
            "version": RECORD_VERSION,
            "config": self._cfg.to_dict(),
            "preprocessing": self.preprocessor_.to_state(),
            "feature_names": list(self.feature_names_),
            "thresholds": {
                "threshold": self.threshold_,
                "method": self.threshold_method_,
                "alert_threshold": self.alert_threshold_,
                "baseline_threshold": self.baseline_threshold_,
                "baseline_alert_threshold": self.baseline_alert_threshold_,
                "supervised_alert_threshold": self.supervised_alert_threshold_,
                "flag_rate": self.flag_rate_,
                "label_frequency": self.label_frequency_,
            },
            "population": {k: None if not np.isfinite(v) else float(v) for k, v in self.population_.items()},
            "label_status": self.label_status_,
            "n_fit_transactions": self.n_fit_transactions_,
            "metrics": [
                {**r, "value": None if not np.isfinite(r["value"]) else float(r["value"])}
                for r in self.metrics_
            ],
            "weights": pickle.dumps(blob, protocol=pickle.HIGHEST_PROTOCOL),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any], device: str | None = None) -> FraudScorer:
        """A fitted scorer from `to_record` output; scores identically without refitting. The `weights`
        blob is unpickled: load records from trusted storage only."""
        if record.get("version") != RECORD_VERSION:
            raise ValueError(f"unsupported fraud record version {record.get('version')!r}")
        cfg = FraudConfig.from_dict(record["config"])
        obj = cls(cfg)
        obj.preprocessor_ = FeaturePreprocessor.from_state(record["preprocessing"])
        obj.feature_names_ = list(record["feature_names"])
        if obj.feature_names_ != obj.preprocessor_.feature_names_out_:
            raise ValueError("record is inconsistent: feature names differ from the preprocessing state")
        th = record["thresholds"]
        obj.threshold_ = float(th["threshold"])
        obj.threshold_method_ = str(th["method"])
        obj.alert_threshold_ = float(th["alert_threshold"])
        obj.baseline_threshold_ = float(th["baseline_threshold"])
        obj.baseline_alert_threshold_ = float(th["baseline_alert_threshold"])
        obj.supervised_alert_threshold_ = float(th["supervised_alert_threshold"])
        obj.flag_rate_ = float(th["flag_rate"])
        obj.label_frequency_ = float(th.get("label_frequency", 1.0))
        obj.population_ = {
            k: float("nan") if v is None else float(v) for k, v in (record.get("population") or {}).items()
        }
        obj.label_status_ = str(record["label_status"])
        obj.n_fit_transactions_ = int(record["n_fit_transactions"])
        obj.metrics_ = [
            {**r, "value": float("nan") if r["value"] is None else float(r["value"])}
            for r in record["metrics"]
        ]
        obj.train_transaction_ids_, obj.holdout_transaction_ids_ = [], []
        blob = pickle.loads(record["weights"])  # noqa: S301 - records are written by to_record
        obj.error_quantiles_ = np.asarray(blob["error_quantiles"])
        obj.autoencoder_ = None
        if blob["autoencoder"] is not None:
            ae = AdversarialAutoencoder(cfg.autoencoder, None, cfg.seed, device or cfg.device)
            ae.device_ = resolve_device(device or cfg.device)
            ae.n_features_in_ = int(blob["n_features_in"])
            ae.net_ = AutoencoderNet(
                ae.n_features_in_, tuple(cfg.autoencoder.hidden), cfg.autoencoder.embedding_dim
            )
            ae.net_.load_state_dict(
                {k: torch.from_numpy(np.array(v)) for k, v in blob["autoencoder"].items()}
            )
            ae.net_.to(ae.device_).eval()
            obj.autoencoder_ = ae
        obj.isolation_forest_ = blob["isolation_forest"]
        obj.supervised_ = blob["supervised"]
        obj.stacker_ = blob["stacker"]
        obj.calibrator_ = blob.get("calibrator")
        if blob.get("feature_reference") is not None:
            obj.feature_reference_ = np.asarray(blob["feature_reference"])
        if blob["stack_reference"] is not None:
            obj.stack_reference_ = np.asarray(blob["stack_reference"])
        return obj


def _float_time(table: pa.Table) -> np.ndarray:
    """transacted_at as float seconds (NaN when null or absent), for ordering."""
    if "transacted_at" not in table.column_names:
        return np.zeros(table.num_rows)
    col = table.column("transacted_at")
    if pa.types.is_string(col.type):
        col = pc.cast(col, pa.timestamp("us"))
    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
        col = pc.cast(pc.cast(col, pa.timestamp("us")), pa.int64())
    return np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
