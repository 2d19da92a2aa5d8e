"""Tests of customer_ml.value.churn on the demo build: the features, the labels and the catalog are the
project's own dbt models (int_customers_features, int_customers_outcomes, int_feature_catalog), so the
tests exercise the models on exactly what a build gives them, with nothing restated in Python."""

from __future__ import annotations

import datetime as dt
import json
import pickle
from dataclasses import replace

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from scipy import stats
from sklearn.exceptions import NotFittedError
from sklearn.metrics import average_precision_score, roc_auc_score
from threadpoolctl import threadpool_limits

from customer_ml.registry import model_inputs
from customer_ml.value import churn as churn_module
from customer_ml.value import predictions as predictions_module
from customer_ml.value.btyd import BetaGeometricNBD
from customer_ml.value.churn import (
    BTYD_COLUMNS,
    BTYDConfig,
    ChurnConfig,
    ChurnModel,
    History,
    ValueConfig,
    ValueModel,
    add_history_features,
    backtest,
    btyd_features,
    evaluate_churn,
    evaluate_value,
    in_batches,
    rfm_score,
)
from customer_ml.value.predictions import apply_version, labels_of, snapshot
from customer_ml.warehouse.arrow import feature_catalog, purchase_log, to_arrow
from tests.e2e.dbt_runner import Build

HORIZON = 90  # the project's default prediction_horizon_days, which the demo build uses


def _load(build: Build) -> dict:
    """The demo build's three snapshots (with the BTYD columns the churn and value models add, as the
    versions model does), their labels and the catalog's customer inputs."""
    with duckdb.connect(str(build.database), read_only=True) as con:
        by_snapshot = "snapshot_name, customer_id"
        features = to_arrow(con.table("intermediate.int_customers_features").order(by_snapshot))
        outcomes = to_arrow(con.table("intermediate.int_customers_outcomes").order(by_snapshot))
        tx = purchase_log(con.table("staging.stg_raw__transactions"))
        catalog = model_inputs(feature_catalog(con.table("intermediate.int_feature_catalog")))
    out: dict = {"transactions": tx, "features": {}, "labels": {}, "btyd": {}, "catalog": catalog}
    for name in ("backtest", "training", "current"):
        raw = snapshot(features, name)
        as_of = raw.column("as_of_date")[0].as_py()
        feats, result = add_history_features(raw, tx, as_of, BTYDConfig(horizon_days=HORIZON))
        out["features"][name] = feats
        out["btyd"][name] = result
        if name != "current":
            labels = labels_of(outcomes, name)
            # The outcome rows in the order of the snapshot's rows (both ordered by customer_id).
            assert labels.column("customer_id").equals(raw.column("customer_id"))
            out["labels"][name] = labels
    return out


def _label(snap: dict, name: str, column: str) -> np.ndarray:
    return snap["labels"][name].column(column).to_numpy().astype(float)


FAST_CHURN = ChurnConfig(max_iter=80, learning_rate=0.15)
FAST_VALUE = ValueConfig(max_iter=80, learning_rate=0.15)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """OpenMP boosting on a shared, busy machine is faster (and as deterministic) on one thread."""
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def snap(demo_build) -> dict:
    return _load(demo_build)


@pytest.fixture(scope="module")
def churn_fit(snap) -> ChurnModel:
    return ChurnModel(FAST_CHURN).fit(
        snap["features"]["backtest"], _label(snap, "backtest", "lapsed"), snap["catalog"]
    )


@pytest.fixture(scope="module")
def value_fit(snap) -> ValueModel:
    return ValueModel(FAST_VALUE).fit(
        snap["features"]["backtest"], _label(snap, "backtest", "future_revenue"), snap["catalog"]
    )


# -- BTYD inputs ------------------------------------------------------------------------------------------


def test_btyd_features_fit_and_columns(snap):
    result = snap["btyd"]["training"]
    assert result.ok and result.reason is None
    assert set(result.params["bgnbd"]) == {"r", "alpha", "a", "b"}
    assert set(result.params["gamma_gamma"]) == {"p", "q", "v"}
    table = result.table
    p_alive = table.column("p_alive").to_numpy()
    expected = table.column("expected_purchases").to_numpy()
    spend = table.column("expected_spend").to_numpy()
    revenue = table.column("expected_revenue").to_numpy()
    assert np.all((p_alive >= 0) & (p_alive <= 1))
    assert np.all(expected >= 0) and np.all(spend > 0)
    np.testing.assert_allclose(revenue, expected * spend, rtol=1e-12)
    # The known trap: every single-purchase customer is "alive" for sure in BG/NBD.
    freq = table.column("btyd_frequency").to_numpy()
    assert np.all(p_alive[freq == 0] == 1.0)


def test_btyd_fits_on_a_seeded_sample_and_scores_everyone(snap):
    """Above max_fit_customers BG/NBD and Gamma-Gamma are fitted on a seeded sample of the customers,
    exactly as on that sample alone, and every customer is scored with those parameters."""
    as_of = snap["features"]["training"].column("as_of_date")[0].as_py()
    everyone = snap["btyd"]["training"]
    n = everyone.table.num_rows
    cap = n // 3
    sampled = btyd_features(
        snap["transactions"], as_of, BTYDConfig(horizon_days=HORIZON, max_fit_customers=cap)
    )
    assert sampled.ok and sampled.table.num_rows == n
    assert sampled.table.column("customer_id").equals(everyone.table.column("customer_id"))
    rows = np.sort(np.random.default_rng(0).choice(n, cap, replace=False))
    column = {
        name: everyone.table.column(name).to_numpy()
        for name in ("btyd_frequency", "btyd_recency", "btyd_age")
    }
    alone = BetaGeometricNBD().fit(*(column[name][rows] for name in column))
    assert sampled.params["bgnbd"] == alone.params_
    assert sampled.params["bgnbd"] != everyone.params["bgnbd"]
    assert sampled.params["gamma_gamma"] != everyone.params["gamma_gamma"]  # fitted on the sample too
    frequency, recency, age = column.values()
    np.testing.assert_array_equal(
        sampled.table.column("p_alive").to_numpy(), alone.probability_alive(frequency, recency, age)
    )
    # A cap at or above the customers fits on everyone, as before.
    whole = btyd_features(snap["transactions"], as_of, BTYDConfig(horizon_days=HORIZON, max_fit_customers=n))
    assert whole.params == everyone.params


def test_btyd_failure_gives_nulls_and_reason():
    tx = pa.table(
        {
            "customer_id": ["a", "a", "b", "c"],
            "transacted_at": pa.array(
                [
                    dt.datetime(2026, 1, 1),
                    dt.datetime(2026, 2, 1),
                    dt.datetime(2026, 1, 5),
                    dt.datetime(2026, 3, 1),
                ]
            ),
            "amount": [10.0, 20.0, 5.0, 7.0],
            "is_purchase": [True, True, True, True],
        }
    )
    result = btyd_features(tx, dt.date(2026, 4, 1))
    assert not result.ok and "repeat purchase" in result.reason
    assert result.table.num_rows == 3
    for name in BTYD_COLUMNS:
        assert result.table.column(name).null_count == 3
    # A table with no purchase at all before the date is not an error either.
    empty = btyd_features(tx, dt.date(2025, 1, 1))
    assert not empty.ok and empty.table.num_rows == 0


def test_btyd_parameters_that_cannot_score_everyone_are_fitted_again_with_the_penalty(snap, monkeypatch):
    """A maximum-likelihood BG/NBD whose a and b run off together fits, but 2F1 overflows when it scores
    (seen on a generated scenario at 100,000 customers): it is retried with the retry penalizer, as a
    failed fit is, instead of leaving the BG/NBD columns null at that date."""
    as_of = snap["features"]["training"].column("as_of_date")[0].as_py()
    expected = churn_module.BetaGeometricNBD.expected_purchases

    def overflowing(self, *args):
        if self.penalizer == 0:
            raise ValueError("the Gaussian hypergeometric function 2F1 overflowed for these inputs")
        return expected(self, *args)

    monkeypatch.setattr(churn_module.BetaGeometricNBD, "expected_purchases", overflowing)
    cfg = BTYDConfig(horizon_days=HORIZON)
    result = btyd_features(snap["transactions"], as_of, cfg)
    assert result.ok and result.reason is None
    assert result.params["bgnbd_penalizer"] == cfg.retry_penalizer
    assert result.params["bgnbd"] != snap["btyd"]["training"].params["bgnbd"]
    assert result.table.column("expected_purchases").null_count == 0
    # Without a retry penalizer the columns are null and the reason says why.
    failed = btyd_features(snap["transactions"], as_of, replace(cfg, retry_penalizer=0.0))
    assert not failed.ok and "2F1 overflowed" in failed.reason
    assert failed.table.column("p_alive").null_count == failed.table.num_rows


# -- churn ------------------------------------------------------------------------------------------------


def test_churn_probabilities_calibrated_and_beat_recency(snap, churn_fit):
    assert churn_fit.method_ in ("gradient_boosting", "logistic", "blend")
    assert churn_fit.selection_[churn_fit.method_] == max(churn_fit.selection_.values())
    feats = snap["features"]["training"]
    y = _label(snap, "training", "lapsed")
    risk = churn_fit.churn_risk(feats)
    assert risk.shape == (feats.num_rows,)
    assert np.all((risk >= 0) & (risk <= 1))
    # Calibrated-ish on the next snapshot: the mean risk is close to the realised lapse rate.
    assert abs(risk.mean() - y.mean()) < 0.05
    recency = feats.column("recency_days").to_numpy()
    assert roc_auc_score(y, risk) > roc_auc_score(y, recency) + 0.005
    assert average_precision_score(y, risk) > average_precision_score(y, recency)


def test_churn_fallback_when_history_too_short(snap):
    feats = snap["features"]["training"]
    no_labels = ChurnModel(FAST_CHURN).fit(feats, None)
    assert no_labels.method_ == "btyd" and "no labels" in no_labels.fallback_reason_
    risk = no_labels.churn_risk(feats)
    expected = feats.column("expected_purchases").to_numpy(zero_copy_only=False).astype(float)
    np.testing.assert_allclose(risk, np.exp(-expected))
    one_class = ChurnModel(FAST_CHURN).fit(feats, np.ones(feats.num_rows, dtype=bool))
    assert one_class.method_ == "btyd" and "one class" in one_class.fallback_reason_
    few = ChurnModel(FAST_CHURN).fit(feats.slice(0, 50), _label(snap, "training", "lapsed")[:50])
    assert few.method_ == "btyd" and "labelled customers" in few.fallback_reason_


def test_churn_fallback_without_btyd_uses_history_rate():
    table = pa.table(
        {
            "customer_id": ["a", "b"],
            "tenure_days": [360.0, 30.0],
            "frequency": [8, 1],
            "expected_purchases": pa.array([None, None], type=pa.float64()),
        }
    )
    model = ChurnModel(ChurnConfig(horizon_days=90)).fit(table, None)
    np.testing.assert_allclose(model.churn_risk(table), np.exp(-np.array([2.0, 1.0])))


def test_churn_deterministic_and_not_fitted(snap):
    feats = snap["features"]["backtest"].slice(0, 1000)
    y = _label(snap, "backtest", "lapsed")[:1000]
    a = ChurnModel(FAST_CHURN).fit(feats, y, snap["catalog"]).churn_risk(feats)
    b = ChurnModel(FAST_CHURN).fit(feats, y, snap["catalog"]).churn_risk(feats)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(NotFittedError):
        ChurnModel().churn_risk(feats)
    with pytest.raises(NotFittedError):
        ValueModel().predict(feats)


# -- value ------------------------------------------------------------------------------------------------


def test_value_predictions_nonnegative_and_beat_baseline(snap, value_fit):
    assert value_fit.method_ == "gradient_boosting"
    assert set(value_fit.target_scores_) == {"hurdle", "log1p", "poisson"}
    assert value_fit.target_ == max(value_fit.target_scores_, key=value_fit.target_scores_.get)
    feats = snap["features"]["training"]
    y = _label(snap, "training", "future_revenue")
    pred = value_fit.predict(feats)
    assert pred.shape == (feats.num_rows,) and np.all(pred >= 0)
    # Against last horizon's revenue (the naive forecast) the model's lead is in finding the top
    # spenders, the criterion it chooses its target on; its rank correlation over everyone is on a par.
    past = feats.column("revenue_last_horizon").to_numpy()
    ours, naive = evaluate_value(y, pred), evaluate_value(y, past)
    assert ours["top20_capture"] > naive["top20_capture"] + 0.02, (ours, naive)
    assert ours["spearman"] > naive["spearman"] - 0.01, (ours, naive)
    btyd = np.nan_to_num(feats.column("expected_revenue").to_numpy(zero_copy_only=False).astype(float))
    assert ours["spearman"] > stats.spearmanr(y, btyd).statistic


def test_value_fallbacks(snap):
    feats = snap["features"]["training"]
    model = ValueModel(FAST_VALUE).fit(feats, None)
    assert model.method_ == "btyd" and "no labels" in model.fallback_reason_
    expected = feats.column("expected_revenue").to_numpy(zero_copy_only=False).astype(float)
    np.testing.assert_allclose(model.predict(feats), expected)
    zeros = ValueModel(FAST_VALUE).fit(feats, np.zeros(feats.num_rows))
    assert zeros.method_ == "btyd" and "future revenue" in zeros.fallback_reason_
    # Without BTYD scores: the customer's net revenue per h-day window so far.
    table = pa.table(
        {
            "customer_id": ["a", "b"],
            "tenure_days": [360.0, 30.0],
            "monetary": [400.0, 50.0],
            "expected_revenue": pa.array([None, None], type=pa.float64()),
        }
    )
    bare = ValueModel(ValueConfig(horizon_days=90)).fit(table, None)
    np.testing.assert_allclose(bare.predict(table), [100.0, 50.0])


def test_value_deterministic(snap):
    feats = snap["features"]["backtest"].slice(0, 1000)
    y = _label(snap, "backtest", "future_revenue")[:1000]
    a = ValueModel(FAST_VALUE).fit(feats, y, snap["catalog"]).predict(feats)
    b = ValueModel(FAST_VALUE).fit(feats, y, snap["catalog"]).predict(feats)
    np.testing.assert_array_equal(a, b)


# -- evaluation -------------------------------------------------------------------------------------------


def test_evaluate_churn_by_hand():
    y = [1, 0, 1, 0]
    s = [0.9, 0.8, 0.7, 0.1]
    out = evaluate_churn(y, s)
    assert out["base_rate"] == 0.5 and out["n"] == 4
    # positive/negative pairs: (0.9>0.8), (0.9>0.1), (0.7<0.8), (0.7>0.1) -> 3/4
    assert out["auc_roc"] == pytest.approx(0.75)
    # average precision: recall steps at ranks 1 and 3 with precision 1 and 2/3
    assert out["pr_auc"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    # threshold 0.7: precision 2/3, recall 1 -> f1 0.8 (threshold 0.9 gives 2/3)
    assert out["f1"] == pytest.approx(0.8)
    assert out["f1_threshold"] == pytest.approx(0.7)
    single = evaluate_churn([1, 1], [0.2, 0.3])
    assert np.isnan(single["auc_roc"]) and single["base_rate"] == 1.0
    with pytest.raises(ValueError):
        evaluate_churn([1, 0], [0.5, np.nan])


def test_evaluate_value_by_hand():
    y = np.array([0.0, 10.0, 0.0, 30.0, 0.0, 0.0, 0.0, 0.0, 0.0, 60.0])
    pred = np.array([9.0, 8.0, 1.0, 7.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    out = evaluate_value(y, pred)
    # top 10% = 1 customer (pred 9, y 0); top 20% adds pred 8 (y 10) -> 10 / 100
    assert out["top10_capture"] == pytest.approx(0.0)
    assert out["top20_capture"] == pytest.approx(0.1)
    assert out["spearman"] == pytest.approx(stats.spearmanr(y, pred).statistic)
    # Ties at the cut count pro rata: all equal predictions capture the share itself.
    tied = evaluate_value(y, np.ones(10))
    assert tied["top20_capture"] == pytest.approx(0.2) and np.isnan(tied["spearman"])


def test_rfm_score_is_the_sql_scores_summed():
    # The scores come from int_customers_rfm (the rank_score macro): the baseline adds them, and is left
    # out (None) for a table without them rather than scored a second way in Python.
    table = pa.table({"customer_id": ["a", "b"], "r_score": [5, 1], "f_score": [4, 1], "m_score": [5, 2]})
    np.testing.assert_array_equal(rfm_score(table), [14.0, 4.0])
    assert rfm_score(table.drop(["m_score"])) is None


def test_backtest_rows(snap):
    rows = backtest(
        snap["features"]["backtest"],
        snap["labels"]["backtest"],
        snap["features"]["training"],
        snap["labels"]["training"],
        churn_config=ChurnConfig(max_iter=60, learning_rate=0.2, calibration_folds=2),
        value_config=ValueConfig(max_iter=60, learning_rate=0.2, target="poisson"),
        catalog=snap["catalog"],
    )
    assert all(set(r) == {"task", "model", "metric", "value"} for r in rows)
    models = {(r["task"], r["model"]) for r in rows}
    assert models >= {
        ("churn", "churn_model"),
        ("churn", "recency_days"),
        ("churn", "rfm_score"),
        ("churn", "bgnbd_1_minus_p_alive"),
        ("churn", "bgnbd_expected_purchases"),
        ("value", "value_model"),
        ("value", "btyd_expected_revenue"),
        ("value", "past_horizon_revenue"),
    }
    auc = {r["model"]: r["value"] for r in rows if r["metric"] == "auc_roc"}
    assert auc["churn_model"] > auc["recency_days"]
    # expected purchases rank churn better than 1 - P(alive) (single-purchase customers all get 0)
    assert auc["bgnbd_expected_purchases"] > auc["bgnbd_1_minus_p_alive"]


def test_fit_on_a_bounded_sample_equals_fit_on_that_sample(snap):
    """Above max_fit_customers the models fit on a seeded sample of the labelled customers, exactly as
    if given that sample alone, and still score every row."""
    feats = snap["features"]["backtest"].slice(0, 1200)
    lapsed = _label(snap, "backtest", "lapsed")[:1200]
    lapsed[:7] = np.nan  # unlabelled rows are never sampled
    revenue = _label(snap, "backtest", "future_revenue")[:1200]
    labelled = np.flatnonzero(np.isfinite(lapsed))
    keep = labelled[np.sort(np.random.default_rng(0).choice(labelled.size, 400, replace=False))]
    churn_cfg = ChurnConfig(max_iter=40, learning_rate=0.2, max_fit_customers=400)
    churn = ChurnModel(churn_cfg).fit(feats, lapsed, snap["catalog"])
    assert (churn.fit_customers_, churn.labelled_customers_) == (400, labelled.size)
    alone = ChurnModel(churn_cfg).fit(feats.take(keep), lapsed[keep], snap["catalog"])
    assert alone.labelled_customers_ == 400  # not above the cap: fitted on all it was given
    np.testing.assert_array_equal(churn.churn_risk(feats), alone.churn_risk(feats))
    assert churn.churn_risk(feats).shape == (1200,)
    proba = churn.predict_proba(feats)
    assert proba.shape == (1200, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba[:, 1], churn.churn_risk(feats))
    value_cfg = ValueConfig(max_iter=40, learning_rate=0.2, target="poisson", max_fit_customers=500)
    value = ValueModel(value_cfg).fit(feats, revenue, snap["catalog"])
    assert value.fit_customers_ == 500
    full = ValueModel(ValueConfig(max_iter=40, learning_rate=0.2, target="poisson")).fit(
        feats, revenue, snap["catalog"]
    )
    assert full.fit_customers_ == 1200
    assert not np.array_equal(value.predict(feats), full.predict(feats))


def test_the_value_target_is_chosen_on_a_seeded_sample_and_fitted_on_every_fit_customer(snap, monkeypatch):
    """Above selection_customers the value model's candidates (its target and BTYD weight) are fitted and
    compared on a seeded sample of its fit customers, and the chosen model on all of them: the model a
    fit with that target and weight given gives, bit for bit."""
    feats = snap["features"]["backtest"].slice(0, 1500)
    revenue = _label(snap, "backtest", "future_revenue")[:1500]
    cfg = ValueConfig(max_iter=30, learning_rate=0.2, selection_customers=600)
    fitted_rows: list[int] = []
    fit = churn_module._ValueRegressor.fit

    def recording_fit(self, X, y):
        fitted_rows.append(len(y))
        return fit(self, X, y)

    monkeypatch.setattr(churn_module._ValueRegressor, "fit", recording_fit)
    model = ValueModel(cfg).fit(feats, revenue, snap["catalog"])
    candidates = 450  # the sample less its held-out quarter (selection_fraction)
    assert fitted_rows == [candidates] * len(model.target_scores_) + [1500]
    assert model.fit_customers_ == 1500 and set(model.blend_scores_) == {0.0, 0.25, 0.5, 0.75}
    refit = ValueModel(replace(cfg, target=model.target_, btyd_weight=model.btyd_weight_)).fit(
        feats, revenue, snap["catalog"]
    )
    np.testing.assert_array_equal(model.predict(feats), refit.predict(feats))
    # Without the cap the candidates see three quarters of every fit customer.
    fitted_rows.clear()
    ValueModel(replace(cfg, selection_customers=None)).fit(feats, revenue, snap["catalog"])
    assert fitted_rows[0] == 1125


def test_above_the_threshold_one_held_out_booster_is_calibrated_and_chosen(snap):
    """Above large_above fit customers the churn model is one booster calibrated on a held-out share
    (a third of the fold boosters to fit and to apply), chosen against the logistic model there."""
    cfg = ChurnConfig(max_iter=60, learning_rate=0.2, large_above=1000, large_learning_rate=0.2)
    feats, lapsed = snap["features"]["backtest"], _label(snap, "backtest", "lapsed")
    model = ChurnModel(cfg).fit(feats, lapsed, snap["catalog"])
    assert set(model.selection_) == {"gradient_boosting", "logistic", "blend"}
    assert model.selection_[model.method_] == max(model.selection_.values())
    if "gradient_boosting" in model.estimators_:
        assert len(model.estimators_["gradient_boosting"].calibrated_classifiers_) == 1
    training, y = snap["features"]["training"], _label(snap, "training", "lapsed")
    risk = model.churn_risk(training)
    assert np.all((risk >= 0) & (risk <= 1)) and abs(risk.mean() - y.mean()) < 0.05
    assert roc_auc_score(y, risk) > roc_auc_score(y, training.column("recency_days").to_numpy()) + 0.005
    again = ChurnModel(cfg).fit(feats, lapsed, snap["catalog"]).churn_risk(training)
    np.testing.assert_array_equal(risk, again)


@pytest.mark.parametrize("large_above", [None, 1000])
def test_a_chosen_recipe_refits_the_same_models(snap, large_above):
    """The final models take the backtest's choices (churn method, value target, BG/NBD weight) and fit
    only those: given the choices a model made itself, the same data gives the same scores bit for bit."""
    feats = snap["features"]["backtest"]
    lapsed, revenue = _label(snap, "backtest", "lapsed"), _label(snap, "backtest", "future_revenue")
    churn_cfg = ChurnConfig(max_iter=40, learning_rate=0.2, large_above=large_above, large_learning_rate=0.2)
    auto = ChurnModel(churn_cfg).fit(feats, lapsed, snap["catalog"])
    chosen = ChurnModel(replace(churn_cfg, method=auto.method_)).fit(feats, lapsed, snap["catalog"])
    assert chosen.method_ == auto.method_ and chosen.selection_ == {}
    np.testing.assert_array_equal(chosen.churn_risk(feats), auto.churn_risk(feats))
    value_cfg = ValueConfig(max_iter=40, learning_rate=0.2, large_above=large_above, large_learning_rate=0.3)
    auto_value = ValueModel(value_cfg).fit(feats, revenue, snap["catalog"])
    recipe = replace(value_cfg, target=auto_value.target_, btyd_weight=auto_value.btyd_weight_)
    chosen_value = ValueModel(recipe).fit(feats, revenue, snap["catalog"])
    assert chosen_value.target_scores_ == {} and chosen_value.blend_scores_ == {}
    np.testing.assert_array_equal(chosen_value.predict(feats), auto_value.predict(feats))


def test_scoring_in_batches_gives_the_one_shot_scores(snap, churn_fit, value_fit, monkeypatch):
    """The backtest and apply_version score in batches (the history columns joined batch by batch):
    every score is the one the whole table gets."""
    monkeypatch.setattr(churn_module, "SCORE_BATCH_ROWS", 700)
    raw = snap["features"]["current"].drop_columns([*BTYD_COLUMNS, "revenue_last_horizon"])
    as_of = raw.column("as_of_date")[0].as_py()
    whole, _ = add_history_features(raw, snap["transactions"], as_of, BTYDConfig(horizon_days=HORIZON))
    history = History(snap["transactions"], as_of, BTYDConfig(horizon_days=HORIZON))
    joined = pa.concat_tables([history.join(raw.slice(s, 700)) for s in range(0, raw.num_rows, 700)])
    assert joined.equals(whole)
    np.testing.assert_array_equal(in_batches(churn_fit.churn_risk, whole), churn_fit.churn_risk(whole))
    version = {
        "weights": pickle.dumps({"churn": churn_fit, "value": value_fit}),
        "config": json.dumps({"btyd": {"horizon_days": HORIZON}}),
        "model_version": "churn_value-1",
    }
    one_shot = apply_version(version, raw, snap["transactions"])
    batches = (raw.slice(s, 1000) for s in range(0, raw.num_rows, 1000))
    assert apply_version(version, batches, snap["transactions"], total_rows=raw.num_rows).equals(one_shot)
    monkeypatch.setattr(predictions_module, "APPLY_BATCH_ROWS", 700)  # a table is scored in slices
    assert apply_version(version, raw, snap["transactions"]).equals(one_shot)
    np.testing.assert_array_equal(one_shot.column("churn_risk").to_numpy(), churn_fit.churn_risk(whole))


def test_backtest_evaluates_a_seeded_sample_when_the_snapshot_is_larger_than_the_cap(snap):
    kwargs = dict(
        churn_config=ChurnConfig(max_iter=60, learning_rate=0.2, calibration_folds=2),
        value_config=ValueConfig(max_iter=60, learning_rate=0.2, target="poisson"),
        catalog=snap["catalog"],
    )
    args = (
        snap["features"]["backtest"],
        snap["labels"]["backtest"],
        snap["features"]["training"],
        snap["labels"]["training"],
    )
    whole = backtest(*args, max_eval_customers=None, **kwargs)
    cap = snap["features"]["training"].num_rows // 3
    sampled = backtest(*args, max_eval_customers=cap, **kwargs)
    assert sampled == backtest(*args, max_eval_customers=cap, **kwargs)  # seeded

    def counts(rows):
        return {(r["task"], r["model"]): r["value"] for r in rows if r["metric"] == "n"}

    # The models and every baseline are scored on the same sampled customers, fewer than all of them.
    for task in ("churn", "value"):
        assert len({n for (t, _), n in counts(sampled).items() if t == task}) == 1
    assert all(0 < n <= cap for n in counts(sampled).values())
    assert all(counts(sampled)[key] < n for key, n in counts(whole).items())
    # What the backtest chose is untouched: the models are fitted before the evaluation.
    method = {(r["task"], r["model"]): r["value"] for r in whole if r["metric"] == "method"}
    assert method == {(r["task"], r["model"]): r["value"] for r in sampled if r["metric"] == "method"}
    # A cap above the snapshot's size changes nothing; a cap under one customer is refused.
    assert backtest(*args, max_eval_customers=10**9, **kwargs) == whole
    with pytest.raises(ValueError, match="backtest_customers"):
        backtest(*args, max_eval_customers=0, **kwargs)
