"""Seeded synthetic customer table with planted kinds of customer, for the tests."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from customer_ml.features.preprocessing import FeatureSpec


def make_planted(
    n: int = 2400, k: int = 6, seed: int = 0, separation: float = 2.2
) -> tuple[pa.Table, list[FeatureSpec], np.ndarray]:
    """(table, catalog, kinds): ~30 model features with skew, noise features, nulls and a categorical."""
    rng = np.random.default_rng(seed)
    latent_dim = 4
    shares = rng.dirichlet(np.full(k, 8.0))
    kinds = rng.choice(k, size=n, p=shares)
    centers = rng.normal(0.0, separation, size=(k, latent_dim))
    z = centers[kinds] + rng.normal(0.0, 1.0, size=(n, latent_dim))
    cols: dict[str, object] = {"customer_id": pa.array([f"c{i:06d}" for i in range(n)])}
    specs: list[FeatureSpec] = []

    def add(name: str, group: str, transform: str, values: object) -> None:
        cols[name] = values
        specs.append(FeatureSpec(name, group, transform))

    # skewed counts / amounts driven by the latent profile
    for j in range(7):
        w = rng.normal(0.0, 0.5, size=latent_dim)
        mean = np.exp(1.5 + z @ w * 0.6)
        if j % 2 == 0:
            add(f"count_{j}", "activity", "log", rng.poisson(mean).astype(np.int64))
        else:
            add(f"amount_{j}", "monetary", "log", mean * rng.lognormal(0.0, 0.5, size=n))
    # roughly linear features with heavy-tailed noise
    for j in range(6):
        w = rng.normal(0.0, 1.0, size=latent_dim)
        add(f"score_{j}", "behaviour", "scale", z @ w + rng.standard_t(3, size=n))
    # category shares (0-1)
    logits = z @ rng.normal(0.0, 0.6, size=(latent_dim, 5))
    share = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    for j in range(5):
        add(f"share_{j}", "mix", "passthrough", share[:, j])
    # uninformative noise features
    for j in range(6):
        if j % 2 == 0:
            add(f"noise_{j}", "noise", "log", rng.lognormal(1.0, 1.2, size=n))
        else:
            add(f"noise_{j}", "noise", "scale", rng.normal(0.0, 1.0, size=n))
    # optional table missing for 25% of customers: a block of nullable features
    has_optional = rng.random(n) > 0.25
    for j in range(4):
        w = rng.normal(0.0, 1.0, size=latent_dim)
        values = z @ w + rng.normal(0.0, 1.0, size=n)
        add(f"optional_{j}", "optional", "scale", pa.array(values, mask=~has_optional))
    # scattered nulls in one activity feature
    scattered = rng.random(n) < 0.05
    cols["count_0"] = pa.array(np.asarray(cols["count_0"]), mask=scattered)
    # an entirely null column, an excluded column, a categorical tied to the kind
    add("all_null", "optional", "scale", pa.nulls(n, pa.float64()))
    add("signup_epoch", "meta", "exclude", rng.integers(0, 10_000, size=n))
    channel_probs = rng.dirichlet(np.full(4, 1.0), size=k)
    channels = np.array(["web", "store", "app", "phone"])
    chan = np.array([channels[rng.choice(4, p=channel_probs[c])] for c in kinds], dtype=object)
    chan[rng.random(n) < 0.004] = "fax"  # rare value, folded into `other`
    chan[rng.random(n) < 0.03] = None
    add("channel", "profile", "onehot", pa.array(chan.tolist(), type=pa.string()))
    return pa.table(cols), specs, kinds
