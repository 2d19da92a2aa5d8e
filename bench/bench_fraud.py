"""Fraud scoring on larger demo data: held-out metrics against IsolationForest, recall per mechanism.

    .venv/bin/python bench/bench_fraud.py [n_customers]   (default 20000)

Generates the demo data and builds `int_transactions_risk` with the project's dbt models in a scratch
folder; the scorer is fitted as `fraud_model_versions` fits it (labels known before the as-of date).
"""

from __future__ import annotations

import _paths  # noqa: F401  (the repository root on sys.path, for tools.demo_data)

# isort: split
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
from demo_features import build_demo

from customer_ml.fraud.config import FraudConfig
from customer_ml.fraud.scorer import FraudScorer
from customer_ml.warehouse.arrow import known_labels, to_arrow
from tools.demo_data import MECHANISMS


def main(n_customers: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        database, raw = build_demo(n_customers, work, ["+int_transactions_risk", "+stg_raw__fraud_labels"])
        with duckdb.connect(str(database), read_only=True) as con:
            risk = to_arrow(con.table("intermediate.int_transactions_risk").order("transaction_id"))
            as_of = con.sql(
                "select as_of_date from intermediate.int_as_of_dates where is_current"
            ).fetchone()[0]
            labels = known_labels(con.table("staging.stg_raw__fraud_labels"), as_of)
        truth_table = pq.read_table(raw / "_truth" / "transaction_fraud.parquet")
    start = time.perf_counter()
    scorer = FraudScorer(FraudConfig()).fit(risk, None, labels)
    print(
        f"{n_customers} customers, {risk.num_rows} transactions; {len(scorer.holdout_transaction_ids_)} "
        f"held out; flag rate {scorer.flag_rate_:.4f}; fit {time.perf_counter() - start:.1f} s"
    )
    for r in scorer.evaluate().to_pylist():
        value = r["value"] if r["value"] is None else round(r["value"], 4)
        print(f"{r['model']:18s} {r['metric']:24s} {value}")
    out = scorer.score(risk)
    mechanism_of = dict(
        zip(
            truth_table.column("transaction_id").to_pylist(),
            truth_table.column("mechanism").to_pylist(),
            strict=True,
        )
    )
    mech = [mechanism_of.get(t) for t in out.column("transaction_id").to_pylist()]
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
