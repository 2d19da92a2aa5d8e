"""Tests of customer_ml.value.churn on demo data: features and labels are computed here with numpy."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats
from sklearn.exceptions import NotFittedError
from sklearn.metrics import average_precision_score, roc_auc_score
from threadpoolctl import threadpool_limits

from customer_ml.features.preprocessing import FeatureSpec
from customer_ml.value.churn import (
    BTYD_COLUMNS,
    BTYDConfig,
    ChurnConfig,
    ChurnModel,
    ValueConfig,
    ValueModel,
    add_history_features,
    backtest,
    btyd_features,
    evaluate_churn,
    evaluate_value,
    horizon_labels,
    rfm_score,
)
from tools import demo_data

HORIZON = 90
CURRENT = dt.date(2026, 9, 30)  # the day after the demo data's last transaction
SNAPSHOTS = {
    "backtest": CURRENT - dt.timedelta(days=2 * HORIZON),
    "training": CURRENT - dt.timedelta(days=HORIZON),
    "current": CURRENT,
}

# A catalog in the shape of int_feature_catalog for the features computed below.
CATALOG = [
    FeatureSpec("recency_days", "rfm", "log"),
    FeatureSpec("tenure_days", "rfm", "log"),
    FeatureSpec("frequency", "rfm", "log"),
    FeatureSpec("purchase_days", "rfm", "exclude"),
    FeatureSpec("monetary", "rfm", "log"),
    FeatureSpec("average_order_value", "rfm", "log"),
    FeatureSpec("interpurchase_days_mean", "spend", "log"),
    FeatureSpec("spend_last_90_days", "spend", "log"),
    FeatureSpec("spend_previous_90_days", "spend", "log"),
    FeatureSpec("refund_rate", "spend", "passthrough"),
    FeatureSpec("store_order_share", "spend", "passthrough"),
    FeatureSpec("events", "behaviour", "log"),
    FeatureSpec("days_since_last_event", "behaviour", "log"),
    FeatureSpec("events_last_30_days", "behaviour", "log"),
    FeatureSpec("country", "attributes", "onehot"),
]


def _per_customer(keys: np.ndarray, ids: np.ndarray, values: np.ndarray, how: str) -> np.ndarray:
    """Aggregate `values` by customer id into the order of `keys` (NaN where a customer has no rows)."""
    out = np.full(keys.size, np.nan)
    if ids.size == 0:
        return out
    uniq, inv = np.unique(ids, return_inverse=True)
    if how == "sum":
        agg = np.bincount(inv, weights=values, minlength=uniq.size)
    elif how == "count":
        agg = np.bincount(inv, minlength=uniq.size).astype(float)
    elif how == "max":
        agg = np.full(uniq.size, -np.inf)
        np.maximum.at(agg, inv, values)
    elif how == "min":
        agg = np.full(uniq.size, np.inf)
        np.minimum.at(agg, inv, values)
    else:
        raise ValueError(how)
    pos = np.clip(np.searchsorted(uniq, keys), 0, uniq.size - 1)
    found = uniq[pos] == keys
    out[found] = agg[pos[found]]
    return out


def _rank_score(values: np.ndarray) -> np.ndarray:
    """The test's stand-in for the SQL rank_score macro: 1..5 from the percent rank, ties sharing it."""
    n = values.size
    first_rank = np.searchsorted(np.sort(values), values, side="left")
    return np.minimum(5.0, 1.0 + np.floor(5.0 * first_rank / max(n - 1, 1)))


def snapshot_features(data: demo_data.DemoData, as_of: dt.date) -> pa.Table:
    """A small version of int_customers_features: customers with a transaction before `as_of`."""
    tx = data.tables["transactions"]
    ids = tx.column("customer_id").to_numpy(zero_copy_only=False).astype(str)
    day = tx.column("transacted_at").to_numpy().astype("datetime64[D]").astype(np.int64)
    amount = tx.column("amount").to_numpy()
    status = tx.column("status").to_numpy(zero_copy_only=False).astype(str)
    store = tx.column("channel").to_numpy(zero_copy_only=False).astype(str) == "store"
    d = int(np.datetime64(as_of, "D").astype(np.int64))
    seen = day < d
    keys = np.unique(ids[seen])
    buy = seen & (status == "completed")
    n_orders = np.nan_to_num(_per_customer(keys, ids[buy], amount[buy], "count"))
    first = _per_customer(keys, ids[seen], day[seen].astype(float), "min")
    last_buy = _per_customer(keys, ids[buy], day[buy].astype(float), "max")
    last_any = _per_customer(keys, ids[seen], day[seen].astype(float), "max")
    # purchase days: distinct (customer, day) pairs among purchases
    pair_ids, pair_days = np.unique(np.stack([ids[buy], day[buy].astype(str)]), axis=1)
    purchase_days = np.nan_to_num(_per_customer(keys, pair_ids, np.ones(pair_ids.size), "count"))
    gross = np.nan_to_num(_per_customer(keys, ids[buy], amount[buy], "sum"))
    net = np.nan_to_num(_per_customer(keys, ids[seen], amount[seen], "sum"))
    recent = buy & (day >= d - 90)
    previous = buy & (day < d - 90) & (day >= d - 180)
    refunds = seen & (status == "refunded")
    first_buy = _per_customer(keys, ids[buy], day[buy].astype(float), "min")
    span = last_buy - first_buy
    ev = data.tables["events"]
    ev_ids = ev.column("customer_id").to_numpy(zero_copy_only=False).astype(str)
    ev_day = ev.column("occurred_at").to_numpy().astype("datetime64[D]").astype(np.int64)
    ev_seen = ev_day < d
    ev_recent = ev_seen & (ev_day >= d - 30)
    customers = data.tables["customers"]
    cust_ids = customers.column("customer_id").to_numpy(zero_copy_only=False).astype(str)
    country = customers.column("country").to_numpy(zero_copy_only=False)
    order = np.argsort(cust_ids)
    pos = np.searchsorted(cust_ids[order], keys)
    last_event = _per_customer(keys, ev_ids[ev_seen], ev_day[ev_seen].astype(float), "max")
    recency = d - np.where(np.isnan(last_buy), last_any, last_buy)
    return pa.table(
        {
            # The R, F and M scores int_customers_rfm gives (rank_score: 1..5 from the percent rank).
            "r_score": _rank_score(-recency),
            "f_score": _rank_score(n_orders),
            "m_score": _rank_score(np.clip(net, 0.0, None)),
            "customer_id": pa.array(keys),
            "as_of_date": pa.array([as_of] * keys.size, type=pa.date32()),
            "recency_days": d - np.where(np.isnan(last_buy), last_any, last_buy),
            "tenure_days": d - first,
            "frequency": n_orders.astype(np.int64),
            "purchase_days": purchase_days.astype(np.int64),
            "monetary": np.clip(net, 0.0, None),
            "average_order_value": pa.array(np.where(n_orders > 0, gross / np.maximum(n_orders, 1), np.nan)),
            "interpurchase_days_mean": pa.array(
                np.where(purchase_days > 1, span / np.maximum(purchase_days - 1, 1), np.nan), from_pandas=True
            ),
            "spend_last_90_days": np.nan_to_num(_per_customer(keys, ids[recent], amount[recent], "sum")),
            "spend_previous_90_days": np.nan_to_num(
                _per_customer(keys, ids[previous], amount[previous], "sum")
            ),
            "refund_rate": np.nan_to_num(_per_customer(keys, ids[refunds], amount[refunds], "count"))
            / np.maximum(n_orders, 1),
            "store_order_share": np.nan_to_num(
                _per_customer(keys, ids[buy & store], amount[buy & store], "count")
            )
            / np.maximum(n_orders, 1),
            "events": np.nan_to_num(_per_customer(keys, ev_ids[ev_seen], ev_day[ev_seen], "count")),
            "days_since_last_event": pa.array(d - last_event, from_pandas=True),
            "events_last_30_days": np.nan_to_num(
                _per_customer(keys, ev_ids[ev_recent], ev_day[ev_recent], "count")
            ),
            "country": pa.array(country[order][pos]),
        }
    )


@lru_cache(maxsize=4)
def demo_snapshots(n_customers: int, seed: int = 42) -> dict:
    """Demo transactions, the three snapshots' features (with BTYD columns) and their labels."""
    data = demo_data.generate(n_customers, seed)
    tx = data.tables["transactions"]
    out: dict = {"transactions": tx, "features": {}, "labels": {}, "btyd": {}}
    for name, as_of in SNAPSHOTS.items():
        raw = snapshot_features(data, as_of)
        feats, result = add_history_features(raw, tx, as_of, BTYDConfig(horizon_days=HORIZON))
        out["features"][name] = feats
        out["btyd"][name] = result
        if name != "current":
            out["labels"][name] = horizon_labels(tx, raw.column("customer_id"), as_of, HORIZON)
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
def snap() -> dict:
    return demo_snapshots(3000)


@pytest.fixture(scope="module")
def churn_fit(snap) -> ChurnModel:
    return ChurnModel(FAST_CHURN, CATALOG).fit(
        snap["features"]["backtest"], _label(snap, "backtest", "lapsed")
    )


@pytest.fixture(scope="module")
def value_fit(snap) -> ValueModel:
    return ValueModel(FAST_VALUE, CATALOG).fit(
        snap["features"]["backtest"], _label(snap, "backtest", "future_revenue")
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
    a = ChurnModel(FAST_CHURN, CATALOG).fit(feats, y).churn_risk(feats)
    b = ChurnModel(FAST_CHURN, CATALOG).fit(feats, y).churn_risk(feats)
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
    past = feats.column("revenue_last_horizon").to_numpy()
    model_rho = stats.spearmanr(y, pred).statistic
    assert model_rho > stats.spearmanr(y, past).statistic + 0.005
    btyd = np.nan_to_num(feats.column("expected_revenue").to_numpy(zero_copy_only=False).astype(float))
    assert model_rho > stats.spearmanr(y, btyd).statistic


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
    a = ValueModel(FAST_VALUE, CATALOG).fit(feats, y).predict(feats)
    b = ValueModel(FAST_VALUE, CATALOG).fit(feats, y).predict(feats)
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
        catalog=CATALOG,
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
    churn = ChurnModel(churn_cfg, CATALOG).fit(feats, lapsed)
    assert (churn.fit_customers_, churn.labelled_customers_) == (400, labelled.size)
    alone = ChurnModel(churn_cfg, CATALOG).fit(feats.take(keep), lapsed[keep])
    assert alone.labelled_customers_ == 400  # not above the cap: fitted on all it was given
    np.testing.assert_array_equal(churn.churn_risk(feats), alone.churn_risk(feats))
    assert churn.churn_risk(feats).shape == (1200,)
    proba = churn.predict_proba(feats)
    assert proba.shape == (1200, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba[:, 1], churn.churn_risk(feats))
    value_cfg = ValueConfig(max_iter=40, learning_rate=0.2, target="poisson", max_fit_customers=500)
    value = ValueModel(value_cfg, CATALOG).fit(feats, revenue)
    assert value.fit_customers_ == 500
    full = ValueModel(ValueConfig(max_iter=40, learning_rate=0.2, target="poisson"), CATALOG).fit(
        feats, revenue
    )
    assert full.fit_customers_ == 1200
    assert not np.array_equal(value.predict(feats), full.predict(feats))
