"""Tests of the fraud scorer on small demo data whose risk features come from the dbt model's own SQL."""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import torch
from fraud_review import risk_table
from sklearn.exceptions import NotFittedError

from customer_ml.fraud.config import RULES, FraudConfig
from customer_ml.fraud.scorer import FraudScorer
from customer_ml.segmentation.config import AutoencoderConfig
from tools.demo_data import generate

FAST = FraudConfig(
    seed=7,
    train_sample_size=20_000,
    anomaly_sample_size=20_000,
    supervised_max_iter=100,
    isolation_forest_estimators=100,
    autoencoder=AutoencoderConfig(
        hidden=(32, 16), embedding_dim=6, batch_size=512, max_epochs=12, patience=3
    ),
)


@pytest.fixture(scope="module")
def demo():
    data = generate(3000, seed=11)
    risk = risk_table(data.tables["transactions"], data.tables["customers"])
    return data, risk


@pytest.fixture(scope="module")
def fitted(demo):
    data, risk = demo
    return FraudScorer(FAST).fit(risk, None, data.tables["fraud_labels"])


def test_not_fitted_raises(demo):
    _, risk = demo
    with pytest.raises(NotFittedError):
        FraudScorer(FAST).score(risk)


def test_scores_in_unit_interval_and_schema(demo, fitted):
    _, risk = demo
    out = fitted.score(risk)
    assert out.num_rows == risk.num_rows
    expected = {"transaction_id", "customer_id", "fraud_score", "is_flagged", "top_reasons", "anomaly_score"}
    assert expected | {"supervised_score"} | {f"rule_{r}" for r in RULES} <= set(out.column_names)
    for col in ["fraud_score", "anomaly_score", "supervised_score", *(f"rule_{r}" for r in RULES)]:
        v = out.column(col).to_numpy(zero_copy_only=False).astype(float)
        assert np.all((v >= 0) & (v <= 1)), col
    assert fitted.label_status_ == "supervised" and fitted.threshold_method_ == "best_f1"
    assert out.column("supervised_score").null_count == 0


def test_flagged_rows_have_reasons(demo, fitted):
    _, risk = demo
    out = fitted.score(risk)
    flagged = out.filter(out.column("is_flagged"))
    assert flagged.num_rows > 0
    reasons = flagged.column("top_reasons").to_pylist()
    assert all(r and 1 <= len(r.split("; ")) <= 3 for r in reasons)
    text = " | ".join(reasons)
    assert re.search(r"\d+ customers (share|on) this device", text)
    assert re.search(r"\d+ transactions (on this device|by this customer) in the last (hour|24 hours)", text)
    # The supervised model's part is named by the features that moved it, not a bare "model" line.
    bare = sum(r == "model: similar to confirmed fraud" for r in reasons)
    assert bare <= 0.05 * len(reasons)
    assert re.search(r"new account, \d+ days? old|first transaction of this customer", text)
    # Rows without any signal have no reasons: null, never an empty string.
    all_reasons = out.column("top_reasons").to_pylist()
    assert "" not in all_reasons and None in all_reasons
    cust = fitted.customer_scores(out).column("top_reasons").to_pylist()
    assert "" not in cust and None in cust


def test_beats_isolation_forest_on_pr_auc(fitted):
    metrics = fitted.evaluate().to_pylist()
    value = {(r["model"], r["metric"]): r["value"] for r in metrics}
    assert {r["task"] for r in metrics} == {"fraud"}
    assert value[("blended", "n_fraud")] >= FAST.min_labels_per_class
    assert value[("blended", "pr_auc")] > value[("isolation_forest", "pr_auc")] + 0.1
    assert value[("blended", "auc_roc")] > value[("isolation_forest", "auc_roc")]


def test_time_respecting_split(demo, fitted):
    _, risk = demo
    ids, at = risk.column("transaction_id").to_pylist(), risk.column("transacted_at").to_pylist()
    times = dict(zip(ids, at, strict=True))
    train = [times[t] for t in fitted.train_transaction_ids_]
    held = [times[t] for t in fitted.holdout_transaction_ids_]
    assert train and held
    assert max(train) < min(held)
    share = len(held) / (len(held) + len(train))
    assert 0.2 <= share <= 0.3


def test_customer_scores(demo, fitted):
    _, risk = demo
    tx = fitted.score(risk)
    cust = fitted.customer_scores(tx)
    assert cust.num_rows == len(set(tx.column("customer_id").to_pylist()))
    best = pc.max(tx.column("fraud_score")).as_py()
    assert pc.max(cust.column("fraud_score")).as_py() == best
    flagged_customers = set(tx.filter(tx.column("is_flagged")).column("customer_id").to_pylist())
    assert set(cust.filter(cust.column("is_flagged")).column("customer_id").to_pylist()) == flagged_customers
    reasons = cust.filter(cust.column("is_flagged")).column("top_reasons").to_pylist()
    assert all(reasons)
    for text in reasons:  # one reason per kind: no "17 transactions ...; 10 transactions ..."
        kinds = [re.sub(r"\d+(\.\d+)?", "#", r) for r in text.split("; ")]
        assert len(kinds) == len(set(kinds)) <= 3


def test_record_round_trip_gives_identical_scores(demo, fitted):
    _, risk = demo
    record = fitted.to_record()
    json.dumps({k: v for k, v in record.items() if k != "weights"})
    assert isinstance(record["weights"], bytes)
    restored = FraudScorer.from_record(record)
    assert restored.score(risk).equals(fitted.score(risk))
    assert restored.evaluate().equals(fitted.evaluate())


def test_deterministic(demo):
    data, risk = demo
    part = risk.slice(0, 6000)
    # The fit neither reads nor moves torch's process-wide generator (dbt runs fits side by side).
    torch.manual_seed(5)
    watched = torch.get_rng_state()
    a = FraudScorer(FAST).fit(part, None, data.tables["fraud_labels"]).score(part)
    assert torch.equal(torch.get_rng_state(), watched)
    torch.manual_seed(6)
    b = FraudScorer(FAST).fit(part, None, data.tables["fraud_labels"]).score(part)
    assert a.equals(b)


def test_without_labels_uses_alert_rate(demo):
    _, risk = demo
    scorer = FraudScorer(FAST).fit(risk, None, None)
    out = scorer.score(risk)
    assert scorer.threshold_method_ == "alert_rate" and scorer.label_status_ == "no labels"
    assert out.column("supervised_score").null_count == out.num_rows
    rate = np.mean(out.column("is_flagged").to_numpy(zero_copy_only=False))
    assert rate == pytest.approx(FAST.alert_rate, abs=0.005)
    flagged = out.filter(out.column("is_flagged")).column("top_reasons").to_pylist()
    assert flagged and all(flagged)
    assert scorer.evaluate().num_rows == 0


def test_single_class_labels(demo):
    data, risk = demo
    labels = data.tables["fraud_labels"]
    legit_only = labels.filter(pc.invert(labels.column("is_fraud")))
    scorer = FraudScorer(FAST).fit(risk, None, legit_only)
    out = scorer.score(risk)
    assert scorer.supervised_ is None and scorer.threshold_method_ == "alert_rate"
    assert "too few labels" in scorer.label_status_
    assert np.all(np.isfinite(out.column("fraud_score").to_numpy()))


def test_transactions_only_input(demo):
    data, _ = demo
    # What int_transactions_risk makes of a transactions file with only the five common columns: the
    # optional ones are null (as staging makes them), so device and IP features are null too.
    transactions = data.tables["transactions"]
    for name in ("payment_method", "device_id", "ip_country", "channel"):
        column = transactions.column_names.index(name)
        transactions = transactions.set_column(column, name, pa.nulls(transactions.num_rows, pa.string()))
    tx = risk_table(transactions)
    scorer = FraudScorer(FAST).fit(tx, None, data.tables["fraud_labels"])
    out = scorer.score(tx)
    score = out.column("fraud_score").to_numpy()
    assert np.all((score >= 0) & (score <= 1))
    flagged = out.filter(out.column("is_flagged")).column("top_reasons").to_pylist()
    assert flagged and all(flagged)
    # Customer velocity comes from customer_id and transacted_at; device rules stay silent.
    assert pc.max(out.column("rule_velocity")).as_py() > 0
    assert pc.max(out.column("rule_shared_device")).as_py() == 0
    # Scoring a table from the full model with the transactions-only scorer works too.
    assert FraudScorer.from_record(scorer.to_record()).score(tx).equals(out)


def test_mostly_null_risk_columns(demo):
    data, risk = demo
    nulled = risk
    for name in (
        "device_id",
        "ip_country",
        "device_transactions_last_hour",
        "device_customers",
        "is_foreign_ip",
    ):
        i = nulled.column_names.index(name)
        nulled = nulled.set_column(i, name, pa.nulls(nulled.num_rows, nulled.column(name).type))
    scorer = FraudScorer(FAST).fit(nulled, None, data.tables["fraud_labels"])
    out = scorer.score(risk.drop_columns(["device_customers", "is_foreign_ip"]))
    assert np.all(np.isfinite(out.column("fraud_score").to_numpy()))


def test_scoring_in_batches_equals_scoring_at_once(demo, fitted, monkeypatch):
    """Every output is a function of its own row, so batches (which bound memory at scale) change
    nothing; the progress lines count the transactions."""
    _, risk = demo
    at_once = fitted.score(risk)
    monkeypatch.setattr("customer_ml.fraud.scorer.SCORE_BATCH_ROWS", 997)
    lines: list[str] = []
    batched = fitted.score(risk, lines.append)
    assert batched.equals(at_once)
    assert lines[-1].startswith(f"scoring: {risk.num_rows:,} of {risk.num_rows:,} transactions")


def test_customer_rollup_takes_the_riskiest_three_transactions_reasons():
    from customer_ml.fraud.reasons import customer_rollup

    tx = pa.table(
        {
            "customer_id": ["b", "a", "b", "b", "b", "c", "a"],
            "fraud_score": [0.9, 0.1, 0.8, 0.7, 0.95, 0.2, 0.3],
            "is_flagged": [True, False, True, False, True, False, False],
            "top_reasons": ["12 tx; new device", None, "3 tx", None, "amount 2.0 up", None, "old device"],
        }
    )
    out = customer_rollup(tx, n_reasons=3).to_pydict()
    assert out["customer_id"] == ["a", "b", "c"]
    assert out["fraud_score"] == [0.3, 0.95, 0.2]
    assert out["is_flagged"] == [False, True, False]
    assert out["n_transactions"] == [2, 4, 1] and out["n_flagged"] == [0, 3, 0]
    # b's riskiest three: 0.95, 0.9, 0.8 ("3 tx" is the same kind as "12 tx": the riskier one stays).
    assert out["top_reasons"] == ["old device", "amount 2.0 up; 12 tx; new device", None]


def test_customer_rollup_in_duckdb_is_the_arrow_rollup(demo, fitted):
    """The customers model groups the transaction scores in DuckDB (customer_rollup_relation): the same
    table as the Arrow rollup, on the demo's scores and on ties (equal scores: transaction_id order
    decides which three are the riskiest), a NaN score, a null customer and empty reasons."""
    import duckdb

    from customer_ml.fraud.reasons import customer_rollup, customer_rollup_relation

    _, risk = demo
    scored = fitted.score(risk).select(
        ["transaction_id", "customer_id", "fraud_score", "is_flagged", "top_reasons"]
    )
    ties = pa.table(
        {
            "transaction_id": ["t9", "t1", "t5", "t3", "t7", "t2", "t4", "t6", "t8"],
            "customer_id": ["b", "b", "b", "b", "a", None, None, "a", "c"],
            "fraud_score": [0.5, 0.5, 0.5, 0.5, float("nan"), 0.2, 0.2, 0.1, 0.0],
            "is_flagged": [True, True, False, True, False, False, True, False, False],
            "top_reasons": [
                "9 tx",
                "1 tx; device",
                "5 tx; amount",
                "3 tx; foreign",
                "nan",
                "",
                "x",
                "a",
                None,
            ],
        }
    )
    for table in (scored, ties):
        with duckdb.connect() as con:
            relation = con.from_arrow(table)
            ordered = table.sort_by("transaction_id").select(
                ["customer_id", "fraud_score", "is_flagged", "top_reasons"]
            )
            expected = customer_rollup(ordered, 3)
            assert customer_rollup_relation(relation, 3).equals(expected)
            assert fitted.customer_scores(relation).equals(expected)
    got = customer_rollup(ties.sort_by("transaction_id"), 3).to_pydict()
    assert got["top_reasons"][0] == "a; nan"  # a: 0.1 ("a") before the NaN (Arrow sorts NaN last)
    assert got["top_reasons"][1] == "1 tx; device; foreign"  # b: t1, t3, t5 of the four tied at 0.5


def test_scores_stream_from_duckdb_in_batches(demo, fitted, monkeypatch):
    """The Python model's path: the risk relation read in batches, scored, and read back by DuckDB from
    the returned record batch reader, gives the table scoring everything at once gives."""
    import duckdb

    from customer_ml.fraud.versions import score_relation

    _, risk = demo
    version = _version_of(fitted)
    monkeypatch.setattr("customer_ml.fraud.versions.SCORE_BATCH_ROWS", 997)
    con = duckdb.connect()
    con.register("risk_rows", risk)
    lines: list[str] = []
    reader = score_relation(version, con.table("risk_rows").order("transaction_id"), lines.append)
    writer = con.cursor()
    writer.register("scores", reader)
    out = writer.sql("select * from scores").to_arrow_table()
    expected = fitted.score(risk.sort_by("transaction_id"))
    assert out.drop_columns(["model_version", "risk_row_hash", "scoring_fingerprint"]).equals(expected)
    assert set(out.column("model_version").to_pylist()) == {"v1"}
    assert lines[-1].startswith(f"scoring: {risk.num_rows:,} of {risk.num_rows:,} transactions")


def _version_of(fitted: FraudScorer, name: str = "v1") -> dict:
    record = fitted.to_record()
    return {
        "model_version": name,
        "config": json.dumps(record["config"]),
        "weights": record["weights"],
        "preprocessing": json.dumps({k: v for k, v in record.items() if k not in ("config", "weights")}),
    }


def test_stored_scores_are_kept_only_where_the_risk_row_and_the_version_are_unchanged(demo, fitted):
    """The daily build's path: a stored score is kept for an unchanged risk row scored by the same
    version and code, every other transaction (new, changed, or stored under another fingerprint) is
    scored, and the table equals scoring every transaction at once: a transaction scores the same in a
    batch of a few changed rows as among all of them."""
    import duckdb

    from customer_ml.fraud.versions import score_relation, scoring_fingerprint

    _, risk = demo
    risk = risk.sort_by("transaction_id")
    version = _version_of(fitted)
    con = duckdb.connect()
    con.register("yesterday", risk.slice(0, risk.num_rows - 300))
    first = score_relation(version, con.table("yesterday")).read_all()
    # A stored score of an unchanged row marked, to see it kept: the scorer would not give 0.123.
    marked = pc.equal(pa.array(range(first.num_rows)), 10)
    stored = first.set_column(
        first.column_names.index("fraud_score"),
        "fraud_score",
        pc.if_else(marked, 0.123, first.column("fraud_score")),
    )
    # Today: 300 new transactions, and a changed amount on the 20th (its score must be recomputed).
    amounts = risk.column("amount").to_pylist()
    amounts[20] = (amounts[20] or 0) + 1000.0
    today = risk.set_column(risk.column_names.index("amount"), "amount", pa.array(amounts, pa.float64()))
    con.register("today", today)
    con.register("stored", stored)
    lines: list[str] = []
    out = score_relation(version, con.table("today"), lines.append, con.table("stored")).read_all()
    expected = fitted.score(today)
    scores = out.drop_columns(["model_version", "risk_row_hash", "scoring_fingerprint"])
    assert scores.column("fraud_score")[10].as_py() == 0.123
    assert scores.slice(11).equals(expected.slice(11)) and scores.slice(0, 10).equals(expected.slice(0, 10))
    assert out.column("fraud_score")[20].as_py() != first.column("fraud_score")[20].as_py()
    assert f"kept the stored scores of {risk.num_rows - 301:,} of {risk.num_rows:,}" in lines[-1]
    assert set(out.column("scoring_fingerprint").to_pylist()) == {scoring_fingerprint(version)}
    # Another version (or other code): nothing stored is kept.
    other = score_relation(_version_of(fitted, "v2"), con.table("today"), stored=con.table("stored"))
    other = other.read_all()
    assert other.column("fraud_score").equals(expected.column("fraud_score"))
    # The incremental model's path: only the transactions scored now come back (the 300 new ones and the
    # changed 20th), and with the stored rows they replace they make the table above.
    lines.clear()
    changed = score_relation(
        version, con.table("today"), lines.append, con.table("stored"), changed_only=True
    )
    changed = changed.read_all()
    assert changed.column("transaction_id").to_pylist() == (
        [today.column("transaction_id")[20].as_py()] + today.column("transaction_id").to_pylist()[-300:]
    )
    ids = set(changed.column("transaction_id").to_pylist())
    kept = stored.filter(pc.invert(pc.is_in(stored.column("transaction_id"), pa.array(sorted(ids)))))
    merged = pa.concat_tables([kept, changed]).sort_by("transaction_id")
    assert merged.equals(out)
    assert f"kept the stored scores of {risk.num_rows - 301:,} of {risk.num_rows:,}" in lines[-1]
    assert lines[-2].startswith("scoring: 301 of 301 transactions")


def test_fitting_from_the_warehouse_by_sampled_rows_equals_fitting_the_whole_table(demo):
    """fraud_model_versions reads the key columns of every transaction and fetches only the rows the fit
    samples (versions.risk_rows): the fitted model scores exactly as one fitted on the whole table. Small
    caps, so that every sample is a strict subset."""
    import dataclasses

    import duckdb

    from customer_ml.fraud.versions import risk_rows

    data, risk = demo
    risk = risk.sort_by("transaction_id")
    config = dataclasses.replace(
        FAST,
        preprocessing_sample_size=4_000,
        anomaly_sample_size=3_000,
        population_sample_customers=400,
        legitimate_sample_size=2_000,
    )
    whole = FraudScorer(config).fit(risk, None, data.tables["fraud_labels"])
    con = duckdb.connect()
    con.register("risk_rows", risk)
    source = risk_rows(con.table("risk_rows"), con)
    assert source.num_rows == risk.num_rows and source.keys.num_columns == 3
    sampled = FraudScorer(config).fit(source, None, data.tables["fraud_labels"])
    assert sampled.score(risk).equals(whole.score(risk))
    assert sampled.threshold_ == whole.threshold_ and sampled.population_ == whole.population_
