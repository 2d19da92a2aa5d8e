"""Fraud flags on the whole population when labels come from a biased review process.

    .venv/bin/python bench/bench_fraud_review.py [n_customers] [--cache DIR] [--config JSON]   (default 8000)

Generates the demo data (four planted fraud mechanisms, full truth in `_truth`), computes
`int_transactions_risk` with the model's SQL in DuckDB, and fits the scorer twice: on the demo's own
labels (a class-balanced sample, 20% fraud) and on labels re-drawn by a biased review process
(`fraud_review.review_labels`: the legacy rules' top 2% reviewed, 40% of fraud reported, the rest unknown).
Each fit is judged against the full truth over every transaction: flag rate against the true fraud rate,
precision, recall and F1 at the flag, PR-AUC, and IsolationForest at its own best threshold; and the
precision and recall the scorer expected at its flag (recorded in its metrics) against the realised ones.
`--cache DIR` keeps the generated tables there between runs; `--config '{"seed": 7}'` sets FraudConfig
fields other than the defaults (both fits).
"""

from __future__ import annotations

import _paths  # noqa: F401  (the repository root on sys.path, for tools.demo_data)

# isort: split
import argparse
import dataclasses
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from fraud_review import RISK_SQL, oracle_gap, population_report, review_labels, risk_table, truth_of

from customer_ml.fraud.config import FraudConfig
from customer_ml.fraud.flagging import choose_threshold, population_metrics
from customer_ml.fraud.inputs import float_time
from customer_ml.fraud.scorer import FraudScorer
from tools.demo_data import MECHANISMS, generate


def load(n_customers: int, cache: Path | None):
    # The risk table's file is named after the risk SQL too, so editing the features rebuilds it.
    sql = hashlib.sha256(RISK_SQL.read_bytes()).hexdigest()[:12]
    names = {"risk": f"risk_{sql}", "labels": "labels", "truth": "truth"}
    paths = {k: cache / f"fraud_{n_customers}_{v}.parquet" for k, v in names.items()} if cache else {}
    if cache and all(p.exists() for p in paths.values()):
        return tuple(pq.read_table(paths[k]) for k in ("risk", "labels", "truth"))
    data = generate(n_customers, seed=42)
    tables = (
        risk_table(data.tables["transactions"], data.tables["customers"]),
        data.tables["fraud_labels"],
        data.truth["transaction_fraud"],
    )
    if cache:
        cache.mkdir(parents=True, exist_ok=True)
        for k, t in zip(("risk", "labels", "truth"), tables, strict=True):
            pq.write_table(t, paths[k])
    return tables


BUDGETS = (
    {},
    {"alert_share": 0.005},
    {"alert_share": 0.01},
    {"alert_share": 0.02},
    {"target_precision": 0.8},
    {"target_precision": 0.95},
)


def rethreshold(scorer: FraudScorer, risk, is_fraud: np.ndarray, budget: dict) -> tuple[float, ...]:
    """(precision, recall, flag rate, expected precision, expected recall) of the fitted scorer with its
    threshold re-chosen under `budget` (the models are kept, so budgets compare like for like)."""
    config = dataclasses.replace(scorer._cfg, **budget)
    score = scorer.score(risk).column("fraud_score").to_numpy()
    calibrated = scorer.stacker_ is not None
    threshold, _ = choose_threshold(score, float_time(risk), config, calibrated, scorer.alert_threshold_)
    expected = population_metrics(
        risk, score, score, threshold, scorer.calibration_, config, np.random.default_rng(0)
    )
    flagged = score >= threshold
    tp = float(np.sum(flagged & is_fraud))
    return (
        tp / max(flagged.sum(), 1),
        tp / max(is_fraud.sum(), 1),
        float(flagged.mean()),
        expected["expected_precision"],
        expected["expected_recall"],
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n_customers", nargs="?", type=int, default=8000)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--config", default="{}", help="FraudConfig fields as a JSON object")
    args = parser.parse_args()
    config = FraudConfig(**json.loads(args.config))
    risk, demo_labels, truth = load(args.n_customers, args.cache)
    is_fraud, mechanism = truth_of(risk, truth)
    review = review_labels(risk, is_fraud, seed=1)
    print(
        f"{args.n_customers} customers, {risk.num_rows} transactions, true fraud rate {is_fraud.mean():.4f}; "
        f"demo labels {demo_labels.num_rows} "
        f"({np.mean(demo_labels.column('is_fraud').to_numpy()):.3f} fraud), "
        f"review labels {review.num_rows} ({np.mean(review.column('is_fraud').to_numpy()):.3f} fraud)"
    )
    for name, labels in (("demo labels", demo_labels), ("biased review", review)):
        start = time.perf_counter()
        scorer = FraudScorer(config).fit(risk, None, labels)
        seconds = time.perf_counter() - start
        report = population_report(scorer, risk, is_fraud)
        expected = {r["metric"]: r["value"] for r in scorer.evaluate().to_pylist() if r["model"] == "blended"}
        print(f"\n== {name}: fit {seconds:.0f} s, threshold method {scorer.threshold_method_}")
        for key, value in report.items():
            print(f"  {key:32s} {value:.4f}")
        for key in sorted(k for k in expected if k.startswith("expected_") or k.startswith("population_")):
            value = expected[key]
            print(f"  {key:32s} {'null' if value is None else f'{value:.4f}'}")
        print(
            "  budget -> flag rate, expected precision / recall vs realised (threshold re-chosen, no refit)"
        )
        for budget in BUDGETS:
            p, r, rate, exp_p, exp_r = rethreshold(scorer, risk, is_fraud, budget)
            print(
                f"    {str(budget):32s} flags {rate:.4f}: expected {exp_p:.3f} / {exp_r:.3f}, "
                f"realised {p:.3f} / {r:.3f}"
            )
        print("  PR-AUC on the latest 25% by time: scorer vs an oracle fitted on the full truth")
        for key, (ours, oracle, n_fraud) in oracle_gap(scorer, risk, is_fraud, mechanism).items():
            print(f"    {key:18s} {ours:.3f} vs {oracle:.3f} (fraud {n_fraud})")
        flagged = scorer.score(risk).column("is_flagged").to_numpy(zero_copy_only=False)
        print("  recall at the flag by mechanism:", end="")
        for m in MECHANISMS:
            rows = np.array([x == m for x in mechanism])
            print(f" {m} {flagged[rows].mean():.2f} (n={rows.sum()})", end="")
        print()


if __name__ == "__main__":
    main()
