"""Churn, lifetime value and fraud end to end, on the demo data and on a transactions-only export."""

from __future__ import annotations

from tests.e2e.contract import contract_violations
from tests.e2e.dbt_runner import MODELS_ONLY, Build, dbt_build


def _evaluation(build: Build, task: str, metric: str) -> dict[str, float]:
    return dict(
        build.query(
            f"select model, value from marts.model_evaluation where task = '{task}' and metric = '{metric}'"
        )
    )


def test_churn_beats_every_baseline_on_the_backtest(demo_build: Build) -> None:
    for metric in ("auc_roc", "pr_auc"):
        scores = _evaluation(demo_build, "churn", metric)
        learned = scores.pop("churn_model")
        assert set(scores) == {
            "recency_days",
            "rfm_score",
            "bgnbd_1_minus_p_alive",
            "bgnbd_expected_purchases",
        }
        assert all(learned > baseline for baseline in scores.values()), (metric, learned, scores)
    # The known trap: 1 - P(alive) ranks churn far worse than BG/NBD's own expected purchases.
    auc = _evaluation(demo_build, "churn", "auc_roc")
    assert auc["bgnbd_1_minus_p_alive"] < auc["bgnbd_expected_purchases"] - 0.2


def test_value_beats_every_baseline(demo_build: Build) -> None:
    for metric in ("spearman", "top20_capture"):
        scores = _evaluation(demo_build, "value", metric)
        learned = scores.pop("value_model")
        assert set(scores) == {"btyd_expected_revenue", "past_horizon_revenue"}
        assert all(learned > baseline for baseline in scores.values()), (metric, learned, scores)


def test_fraud_beats_isolation_forest_on_pr_auc(demo_build: Build) -> None:
    scores = _evaluation(demo_build, "fraud", "pr_auc")
    assert scores["blended"] > scores["isolation_forest"], scores


def test_churn_and_value_parameters_are_stored_with_the_version(demo_build: Build) -> None:
    metrics = demo_build.scalar(
        "select metrics from ml.churn_value_model_versions order by version_number desc limit 1"
    )
    for parameter in ('"r"', '"alpha"', '"a"', '"b"', '"p"', '"q"', '"v"'):
        assert parameter in metrics


def test_transactions_only_export_gets_every_score(transactions_only_build: Build) -> None:
    build = transactions_only_build
    customers = build.scalar("select count(distinct customer_id) from staging.stg_raw__transactions")
    assert build.scalar("select count(*) from marts.customer_segments") == customers
    assert (
        build.scalar(
            "select count(*) from marts.customer_segments where churn_risk is null or predicted_ltv is null"
        )
        == 0
    )
    transactions = build.scalar("select count(*) from staging.stg_raw__transactions")
    assert build.scalar("select count(*) from marts.fraud_transaction_scores") == transactions
    # No labels: unsupervised and rules only.
    assert build.scalar("select count(supervised_score) from marts.fraud_transaction_scores") == 0
    marts = ["customer_segments", "segment_profiles", "fraud_transaction_scores", "fraud_customer_scores"]
    assert contract_violations(build.database, marts) == []


def test_same_data_and_seed_give_identical_scores(
    transactions_only_dir, transactions_only_build, tmp_path
) -> None:
    again = dbt_build(tmp_path, transactions_only_dir, args=MODELS_ONLY)
    assert again.returncode == 0, again.output[-4000:]
    query = (
        "select customer_id, segment_id, segment_probability, anomaly_score, churn_risk, predicted_ltv "
        "from marts.customer_segments order by customer_id"
    )
    assert again.query(query) == transactions_only_build.query(query)
    fraud = "select transaction_id, fraud_score, is_flagged from marts.fraud_transaction_scores order by 1"
    assert again.query(fraud) == transactions_only_build.query(fraud)
