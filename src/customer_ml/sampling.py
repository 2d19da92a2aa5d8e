"""Seeded samples of rows, shared by every model that fits on a bounded sample and applies to everyone."""

from __future__ import annotations

import numpy as np


def seeded_sample(n: int, size: int | None, seed: int) -> np.ndarray:
    """Sorted row indices of a seeded sample of `size` out of `n` (all rows when size >= n or None)."""
    if size is None or size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=int(size), replace=False))
