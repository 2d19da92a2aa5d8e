"""Fraud scoring on larger demo data: held-out metrics against IsolationForest, recall per mechanism.

    .venv/bin/python bench/bench_fraud.py [n_customers]   (default 20000)

Risk features come from the dbt model's own SQL rendered in plain DuckDB (tests/test_fraud.py).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from segmentation.demo_data import MECHANISMS, generate
from segmentation.fraud import FraudConfig, FraudScorer
from tests.test_fraud import risk_table


def main(n_customers: int) -> None:
    start = time.perf_counter()
    data = generate(n_customers, seed=42)
    risk = risk_table(data.tables["transactions"], data.tables["customers"])
    scorer = FraudScorer(FraudConfig()).fit(risk, None, data.tables["fraud_labels"])
    print(
        f"{n_customers} customers, {risk.num_rows} transactions; {len(scorer.holdout_transaction_ids_)} "
        f"held out; flag rate {scorer.flag_rate_:.4f}; fit {time.perf_counter() - start:.1f} s"
    )
    for r in scorer.evaluate().to_pylist():
        value = r["value"] if r["value"] is None else round(r["value"], 4)
        print(f"{r['model']:18s} {r['metric']:24s} {value}")
    out = scorer.score(risk)
    truth = data.truth["transaction_fraud"]
    mech = truth.column("mechanism").to_pylist()
    score = out.column("fraud_score").to_numpy()
    flagged = out.column("is_flagged").to_numpy(zero_copy_only=False)
    baseline = scorer.baseline_score(risk)
    alert, base_alert = score >= scorer.alert_threshold_, baseline >= scorer.baseline_alert_threshold_
    unseen = ~np.isin(np.asarray(out.column("transaction_id").to_pylist()), scorer.train_transaction_ids_)
    print("mechanism          part       n  recall@alert blend  iforest  recall@flag blend")
    for m in MECHANISMS:
        for part, keep in (("all", np.ones(len(mech), bool)), ("unseen", unseen)):
            rows = np.array([x == m for x in mech]) & keep
            print(
                f"{m:18s} {part:6s} {rows.sum():5d} {alert[rows].mean():.3f} {base_alert[rows].mean():.3f} "
                f"{flagged[rows].mean():.3f}"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
