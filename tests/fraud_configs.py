"""A small fraud scorer configuration for the tests that fit it on a few thousand demo customers: the
same models as the defaults, fewer and smaller (the population tests of test_fraud_review and
test_fraud_scale share it, so their figures come from the same fit)."""

from __future__ import annotations

from customer_ml.fraud.config import FraudConfig
from customer_ml.segmentation.config import AutoencoderConfig

FAST = FraudConfig(
    seed=7,
    train_sample_size=20_000,
    anomaly_sample_size=20_000,
    supervised_max_iter=100,
    isolation_forest_estimators=100,
    n_bootstrap=50,
    autoencoder=AutoencoderConfig(hidden=(32, 16), embedding_dim=6, batch_size=512, max_epochs=8, patience=3),
)
