"""Fraud flags on the demo build, judged on the generator's ground truth (never read by any model): the
flag rate is near the true fraud rate, F1 at the flag is at least 0.7 and beats IsolationForest at its
own best threshold, and marts.model_evaluation holds the expected precision and recall at the flag."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow.parquet as pq
from sklearn.metrics import precision_recall_curve

from customer_ml.fraud.versions import KIND, load_scorer
from customer_ml.registry import latest_version
from tests.e2e.dbt_runner import Build


def test_demo_flags_fit_the_population(demo_build: Build, demo_dir) -> None:
    truth = pq.read_table(demo_dir / "_truth" / "transaction_fraud.parquet")
    fraud_of = dict(
        zip(truth.column("transaction_id").to_pylist(), truth.column("is_fraud").to_pylist(), strict=True)
    )
    rows = demo_build.query(
        "select transaction_id, is_flagged from marts.fraud_transaction_scores order by 1"
    )
    y = np.array([bool(fraud_of[t]) for t, _ in rows])
    flagged = np.array([bool(f) for _, f in rows])
    f1 = 2 * np.sum(flagged & y) / (flagged.sum() + y.sum())
    ratio = flagged.mean() / y.mean()
    assert ratio >= 2 / 3 and ratio <= 1.5, (flagged.mean(), y.mean())  # within a factor 1.5
    assert f1 >= 0.7, f1

    # IsolationForest (the version's own baseline) at its best threshold against the same truth.
    with duckdb.connect(str(demo_build.database), read_only=True) as con:
        version = latest_version(con.table("ml.fraud_model_versions").fetch_arrow_table(), KIND)
        risk = con.sql(
            "select * from intermediate.int_transactions_risk order by transaction_id"
        ).fetch_arrow_table()
    assert risk.column("transaction_id").to_pylist() == [t for t, _ in rows]
    precision, recall, _ = precision_recall_curve(y, load_scorer(version).baseline_score(risk))
    baseline_f1 = np.max(2 * precision * recall / np.maximum(precision + recall, 1e-12))
    assert f1 > baseline_f1 + 0.2, (f1, baseline_f1)

    evaluation = dict(
        demo_build.query(
            "select metric, value from marts.model_evaluation where task = 'fraud' and model = 'blended'"
        )
    )
    assert evaluation["population_expected_precision_lower"] <= evaluation["population_expected_precision"]
    assert evaluation["population_expected_precision"] <= evaluation["population_expected_precision_upper"]
    assert abs(evaluation["population_flag_rate"] - flagged.mean()) < 1e-9
    assert abs(evaluation["population_expected_precision"] - np.mean(y[flagged])) < 0.15
    notes = demo_build.query(
        "select distinct note from marts.model_evaluation where metric like 'population%'"
    )
    assert len(notes) == 1 and "whole population" in notes[0][0]
