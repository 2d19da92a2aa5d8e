"""The fraud flags on the whole population when the labels come from a biased review process: the legacy
rules' top 2% reviewed, 40% of the fraud reported, the rest unlabelled (bench/fraud_review.py). Flags
chosen on the labelled sample, far richer in fraud than the population, flag several times too much."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from fraud_configs import FAST
from fraud_review import population_report, review_labels, risk_table, truth_of

from customer_ml.fraud.config import FraudConfig, flagging_change
from customer_ml.fraud.flagging import choose_threshold
from customer_ml.fraud.scorer import FraudScorer
from tools.demo_data import generate


@pytest.fixture(scope="module")
def population():
    data = generate(3000, seed=11)
    risk = risk_table(data.tables["transactions"], data.tables["customers"])
    is_fraud, _ = truth_of(risk, data.truth["transaction_fraud"])
    return risk, is_fraud, data.tables["fraud_labels"], review_labels(risk, is_fraud, seed=3)


@pytest.fixture(scope="module")
def reviewed(population):
    risk, is_fraud, _, review = population
    scorer = FraudScorer(FAST).fit(risk, None, review)
    return scorer, population_report(scorer, risk, is_fraud)


def test_review_labels_are_biased(population):
    risk, is_fraud, _, review = population
    labelled_rate = np.mean(review.column("is_fraud").to_numpy(zero_copy_only=False))
    assert labelled_rate > 10 * is_fraud.mean()  # the sample is far richer in fraud than the population
    labelled = set(review.column("transaction_id").to_pylist())
    unlabelled_fraud = [
        t
        for t, y in zip(risk.column("transaction_id").to_pylist(), is_fraud, strict=True)
        if y and t not in labelled
    ]
    assert len(unlabelled_fraud) > 0.2 * is_fraud.sum()  # unlabelled is not legitimate


@pytest.mark.parametrize("labels", ["review", "demo"])
def test_flags_fit_the_population(population, reviewed, labels):
    risk, is_fraud, demo, _ = population
    if labels == "review":
        scorer, report = reviewed
    else:
        scorer = FraudScorer(FAST).fit(risk, None, demo)
        report = population_report(scorer, risk, is_fraud)
    assert scorer.threshold_method_ == "best_f1"
    ratio = report["flag_rate"] / report["true_fraud_rate"]
    assert ratio >= 2 / 3 and ratio <= 1.5, report  # within a factor 1.5
    assert report["f1"] >= 0.7, report
    assert report["f1"] > report["isolation_forest_best_f1"] + 0.2, report
    # What the scorer expected at its flag is close to what it reaches, erring on the cautious side for
    # precision: fraud outside the review queue is confirmed less often than fraud inside it.
    expected = scorer.population_
    print(labels, report, {k: v for k, v in expected.items() if "_" not in k or "expected" in k})
    assert report["precision"] - 0.2 <= expected["expected_precision"] <= report["precision"] + 0.1
    assert expected["expected_recall"] == pytest.approx(report["recall"], abs=0.15)
    assert expected["estimated_fraud_rate"] == pytest.approx(report["true_fraud_rate"], rel=0.35)
    assert (
        expected["expected_precision_lower"]
        <= expected["expected_precision"]
        <= expected["expected_precision_upper"]
    )


def test_population_metrics_reach_the_registry_rows(reviewed):
    scorer, _ = reviewed
    rows = {(r["model"], r["metric"]): r["value"] for r in scorer.evaluate().to_pylist()}
    for name in ("threshold", "expected_precision", "expected_recall", "estimated_fraud_rate", "flag_rate"):
        assert np.isfinite(rows[("blended", f"population_{name}")])
        if name != "threshold" and name != "flag_rate":
            assert (
                rows[("blended", f"population_{name}_lower")] <= rows[("blended", f"population_{name}_upper")]
            )
    restored = FraudScorer.from_record(scorer.to_record())
    assert restored.population_ == pytest.approx(scorer.population_, nan_ok=True)


def test_alert_budget_sets_the_flag_rate(population):
    risk, _, _, review = population
    scorer = FraudScorer(dataclasses.replace(FAST, alert_share=0.004)).fit(risk, None, review)
    assert scorer.threshold_method_ == "alert_share"
    assert scorer.flag_rate_ == pytest.approx(0.004, abs=0.001)
    assert scorer.population_["flag_rate"] == scorer.flag_rate_


def _with_scores(config: FraudConfig, score: np.ndarray) -> tuple[float, str]:
    alert_threshold = float(np.quantile(score, 1 - config.alert_rate))
    ts = np.arange(len(score), dtype=float) * 86400e6 / 100  # 100 transactions a day
    return choose_threshold(score, ts, config, True, alert_threshold)


def test_threshold_rules_on_calibrated_scores():
    rng = np.random.default_rng(0)
    # 2% of rows with fraud probability 0.9, the rest 0.001: expected precision is known exactly.
    score = np.where(rng.random(20_000) < 0.02, 0.9, 0.001) + rng.random(20_000) * 1e-6
    threshold, method = _with_scores(FraudConfig(), score)
    assert method == "best_f1" and np.mean(score >= threshold) == pytest.approx(0.02, abs=0.005)
    threshold, method = _with_scores(FraudConfig(target_precision=0.5), score)
    flagged = score >= threshold
    assert method == "target_precision" and score[flagged].mean() >= 0.5
    assert flagged.mean() > 0.02  # the largest flagged set at that precision reaches into the 0.001s
    threshold, method = _with_scores(FraudConfig(alerts_per_day=3), score)
    assert method == "alerts_per_day" and np.sum(score >= threshold) / 200 == pytest.approx(3, rel=0.05)


def test_one_budget_at_most():
    with pytest.raises(ValueError, match="at most one"):
        FraudConfig(alert_share=0.01, target_precision=0.8)
    with pytest.raises(ValueError):
        FraudConfig(target_precision=1.5)


def test_flagging_change_decides_the_retrain():
    stored = FraudConfig(alert_share=0.01).to_dict()
    assert (
        flagging_change(stored, {"alert_share": 0.01, "alerts_per_day": None, "target_precision": None})
        is None
    )
    assert "changed" in flagging_change(stored, {"alert_share": None, "target_precision": 0.9})
    # A version stored before the flagging vars existed had none set.
    assert flagging_change({"seed": 42}, {"alert_share": None}) is None
    with pytest.raises(ValueError, match="unknown flagging"):
        flagging_change(stored, {"alert_budget": 3})
