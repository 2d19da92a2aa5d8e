"""The three signals behind a transaction's fraud score, and the transforms that stack them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Signals", "anomaly_strength", "logit", "stack_inputs"]


@dataclass
class Signals:
    """Per transaction: `anomaly`, the percentile (0-1) of the autoencoder's reconstruction error among the
    training transactions; `rules`, the strength (0-1) of each rule (n x len(RULES)); `supervised`, the
    supervised model's probability of a confirmed fraud (NaN without a supervised model)."""

    anomaly: np.ndarray
    rules: np.ndarray
    supervised: np.ndarray


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def anomaly_strength(pct: np.ndarray) -> np.ndarray:
    """-log10 of the share of training transactions at least as anomalous (0 to 4)."""
    return -np.log10(np.clip(1.0 - pct, 1e-4, 1.0))


def stack_inputs(anomaly: np.ndarray, strengths: np.ndarray, supervised: np.ndarray) -> np.ndarray:
    """The stacker's inputs: anomaly strength, rule strengths, supervised log-odds."""
    return np.column_stack([anomaly_strength(anomaly), strengths, logit(supervised)])
