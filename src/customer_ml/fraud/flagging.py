"""Calibration and flagging: the population fraud probability from P(confirmed | x) and the label
frequency, the flagging threshold (best expected F1, a target precision, an alert budget or an alert rate)
and the expected precision, recall and F1 on the whole population, with bootstrap intervals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import precision_recall_curve

from customer_ml.fraud.config import FraudConfig
from customer_ml.fraud.inputs import customer_codes, float_time

__all__ = [
    "TIE_BREAK",
    "Calibration",
    "best_f1_threshold",
    "choose_threshold",
    "f1_at",
    "label_frequency",
    "population_metrics",
]

TIE_BREAK = 1e-6
"""Weight of the uncalibrated score in the fraud score: it only orders rows the calibration ties."""


@dataclass
class Calibration:
    """From the stacked score, P(confirmed | x), to the population fraud probability.

    `isotonic`: fitted on the honest (out-of-fold and held-out) stacked scores, or None; `label_frequency`:
    the share of fraud that gets confirmed; `honest`: the (scores, weights, confirmed, known) arrays behind
    both while fitting (for the bootstrap), None once fitted."""

    isotonic: IsotonicRegression | None = None
    label_frequency: float = 1.0
    honest: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def confirmed_probability(self, raw_score: np.ndarray) -> np.ndarray:
        return raw_score if self.isotonic is None else self.isotonic.predict(raw_score)

    def fraud_probability(self, raw_score: np.ndarray) -> np.ndarray:
        """Population fraud probability: the probability of a confirmed fraud over the label frequency."""
        calibrated = self.confirmed_probability(raw_score)
        # The isotonic steps and the cap at 1 tie many rows; the uncalibrated score, with a weight too
        # small to matter as a probability, orders them, so that an alert budget can cut between them.
        return (1.0 - TIE_BREAK) * np.minimum(1.0, calibrated / self.label_frequency) + TIE_BREAK * raw_score


def best_f1_threshold(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """(threshold, F1) maximising F1 of `s >= threshold`."""
    precision, recall, thresholds = precision_recall_curve(y, s)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0)
    i = int(np.argmax(f1[:-1])) if len(thresholds) else 0
    if not len(thresholds):
        return float(np.max(s)), 0.0
    return float(thresholds[i]), float(f1[i])


def f1_at(y: np.ndarray, s: np.ndarray, threshold: float) -> float:
    pred = s >= threshold
    tp = float(np.sum(pred & y))
    denom = float(np.sum(pred) + np.sum(y))
    return 2 * tp / denom if denom else float("nan")


def label_frequency(
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


def choose_threshold(
    score: np.ndarray,
    ts: np.ndarray,
    cfg: FraudConfig,
    calibrated: bool,
    alert_threshold: float,
    n_population: int | None = None,
) -> tuple[float, str]:
    """(threshold, method): the alert budget, the target precision, the alert rate or the best expected
    F1, all on the whole population with the calibrated scores as fraud probabilities (`calibrated`: the
    scores are fraud probabilities, i.e. a supervised blend was fitted; otherwise only a budget or the alert
    rate applies). `alert_threshold`: the score quantile that flags `alert_rate`. `n_population`: the
    transactions the scores stand for when they are a sample (default: len(score))."""
    n = len(score)
    order = np.argsort(-score, kind="stable")
    s = score[order]
    if cfg.alert_share is not None or cfg.alerts_per_day is not None:
        share = cfg.alert_share
        method = "alert_share"
        if share is None:
            finite = ts[np.isfinite(ts)]
            days = max((finite.max() - finite.min()) / 86400e6, 1.0) if len(finite) else 1.0
            share = min(1.0, cfg.alerts_per_day * days / (n_population or n))
            method = "alerts_per_day"
        k = max(1, int(round(share * n)))
        return float(s[k - 1]), method
    if not calibrated or cfg.threshold == "alert_rate":
        return alert_threshold, "alert_rate"
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


def population_metrics(
    table: pa.Table,
    raw_score: np.ndarray,
    score: np.ndarray,
    threshold: float,
    calibration: Calibration,
    cfg: FraudConfig,
    rng: np.random.Generator,
    n_population: int | None = None,
) -> dict[str, float]:
    """Expected precision, recall, F1 and flag rate at the threshold on the whole population (the
    calibrated scores taken as fraud probabilities), per transaction and per customer, with bootstrap
    intervals: resampling the rows behind the label frequency (`calibration.honest`) and the scored
    population. `table` may be a sample of whole customers standing for `n_population` transactions
    (flags per day are scaled up to it; the rates and the intervals are the sample's)."""
    flagged = score >= threshold
    codes = customer_codes(table)
    n_customers = int(codes.max()) + 1 if len(codes) else 0
    customer_flagged = np.bincount(codes, flagged.astype(float), n_customers) > 0
    ts = float_time(table)
    finite = ts[np.isfinite(ts)]
    days = max((finite.max() - finite.min()) / 86400e6, 1.0) if len(finite) else float("nan")

    def riskiest(p: np.ndarray) -> np.ndarray:
        # A customer is fraudulent with at least their riskiest transaction's probability (the
        # noisy-or over all of them would pile up the small calibration floor of honest histories).
        cp = np.zeros(n_customers)
        np.maximum.at(cp, codes, p)
        return cp

    def measure(p: np.ndarray, w: np.ndarray, cw: np.ndarray, cp: np.ndarray) -> dict[str, float]:
        fraud = float(np.sum(w * p))
        hit = float(np.sum(w * p * flagged))
        n_flag = float(np.sum(w * flagged))
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

    point = measure(score, np.ones(len(score)), np.ones(n_customers), riskiest(score))
    out = {
        "threshold": float(threshold),
        "flag_rate": float(np.mean(flagged)),
        "flags_per_day": float(np.sum(flagged) * ((n_population or len(score)) / len(score)) / days),
        "customer_flag_rate": float(np.mean(customer_flagged)) if n_customers else float("nan"),
        "label_frequency": float(calibration.label_frequency),
        **point,
    }
    inputs = calibration.honest
    if cfg.n_bootstrap and inputs is not None:
        g, w_g, conf, known = inputs
        confirmed_p = calibration.confirmed_probability(raw_score)
        # min(1, x / c) is monotone in x, so each customer's riskiest probability is min(1, their riskiest
        # confirmed probability / c), bit for bit: found once here instead of once per resample.
        riskiest_confirmed = riskiest(confirmed_p)
        draws: dict[str, list[float]] = {k: [] for k in point}
        draws["label_frequency"] = []
        order = np.argsort(-g, kind="stable")  # the resamples reweight rows; the scores stay
        for _ in range(cfg.n_bootstrap):
            c = label_frequency(g, w_g * rng.poisson(1.0, len(g)), conf, known, order)
            p = np.minimum(1.0, confirmed_p / c)
            values = measure(
                p,
                rng.poisson(1.0, len(p)).astype(float),
                rng.poisson(1.0, n_customers),
                np.minimum(1.0, riskiest_confirmed / c),
            )
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
