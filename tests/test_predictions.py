"""The one retrain decision as the churn/value and fraud registries use it: versions without a drift
profile, a feature check (churn/value) or none (fraud), and a changed configuration (fraud's flag rule)."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pyarrow as pa
import pytest

from customer_ml.registry import RetrainPolicy, decide_retrain, latest_version
from customer_ml.value.churn import BTYDConfig
from customer_ml.value.predictions import (
    KIND,
    config_change,
    config_check,
    snapshot,
    stored_btyd_config,
    training_caps,
)
from customer_ml.warehouse.arrow import current_batches, row_count, snapshot_tables

AS_OF = dt.date(2026, 9, 30)
INPUTS = ["recency_days", "frequency"]


def _version(as_of: dt.date = AS_OF, inputs: tuple[str, ...] = tuple(INPUTS)) -> dict:
    return {"model_kind": KIND, "as_of_date": as_of, "feature_names": json.dumps(list(inputs))}


def test_no_stored_model_trains_unless_never() -> None:
    assert decide_retrain(None, AS_OF, RetrainPolicy("auto"), INPUTS).reason == "no stored model"
    with pytest.raises(RuntimeError, match="retrain is 'never'"):
        decide_retrain(None, AS_OF, RetrainPolicy("never"), INPUTS)


def test_a_newer_as_of_date_applies_the_stored_model_until_it_is_too_old() -> None:
    policy = RetrainPolicy("auto", max_age_days=90)
    later = decide_retrain(_version(), AS_OF + dt.timedelta(days=1), policy, INPUTS)
    assert not later.retrain and "stored model applied (age 1 days" in later.reason
    old = decide_retrain(_version(), AS_OF + dt.timedelta(days=91), policy, INPUTS)
    assert old.retrain and old.reason == "model is 91 days old (limit 90)"


def test_changed_inputs_train_and_say_what_changed() -> None:
    decision = decide_retrain(_version(), AS_OF, RetrainPolicy("auto"), [*INPUTS, "lines_per_order"])
    assert decision.retrain
    assert decision.reason == "feature set changed (added ['lines_per_order'], removed none)"


def test_a_changed_configuration_trains_unless_never() -> None:
    change = "flagging rule changed"
    assert (
        decide_retrain(_version(), AS_OF, RetrainPolicy("auto"), None, config_change=change).reason == change
    )
    assert not decide_retrain(
        _version(), AS_OF, RetrainPolicy("never"), ["monetary"], config_change=change
    ).retrain


def test_always_trains() -> None:
    assert decide_retrain(_version(), AS_OF, RetrainPolicy("always"), INPUTS).retrain


def test_the_latest_version_is_picked_in_sql() -> None:
    rows = [
        {"model_kind": KIND, "version_number": 1, "model_version": "a"},
        {"model_kind": KIND, "version_number": 3, "model_version": "c"},
        {"model_kind": "fraud", "version_number": 9, "model_version": "f"},
        {"model_kind": KIND, "version_number": 2, "model_version": "b"},
    ]
    table = pa.Table.from_pylist(rows)
    con = duckdb.connect()
    relation = con.from_arrow(table)
    assert latest_version(relation, KIND)["model_version"] == "c"
    assert latest_version(table, KIND)["model_version"] == "c"
    assert latest_version(relation, "segmentation") is None
    assert latest_version(None, KIND) is None


def test_the_policy_reads_the_dbt_vars() -> None:
    assert RetrainPolicy.from_vars("auto", "30", "0.1") == RetrainPolicy("auto", 30, 0.1)


def test_snapshots_are_read_one_at_a_time_and_the_current_one_in_batches() -> None:
    """What the churn/value models read: each snapshot filtered and ordered in the engine, the current
    one streamed in batches with its row count (for the progress lines)."""
    features = pa.table(
        {
            "snapshot_name": ["current", "training", "current", "backtest", "current", "training"],
            "customer_id": [3, 2, 1, 1, 2, 1],
            "x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )
    con = duckdb.connect()
    relation = con.from_arrow(features)
    tables = snapshot_tables(relation)
    assert sorted(tables) == ["backtest", "training"]
    assert tables["training"].column("customer_id").to_pylist() == [1, 2]
    assert tables["training"].column("x").to_pylist() == [6.0, 2.0]
    assert snapshot(tables, "training").equals(tables["training"])
    assert snapshot(tables, "current").num_rows == 0  # a mapping without it
    batches, rows = current_batches(relation, 2)
    batches = list(batches)
    assert rows == row_count(relation.filter("snapshot_name = 'current'")) == 3
    assert [b.num_rows for b in batches] == [2, 1]
    assert pa.concat_tables(batches).column("customer_id").to_pylist() == [1, 2, 3]
    assert row_count(features) == 6


def test_history_looks_up_text_ids_as_a_sort_would() -> None:
    """History groups customer ids as whole-number codes and joins by hash: the BTYD summary lists the
    customers in id order (as np.unique of the ids did), and each row of a batch, in any order, with ids
    the log does not know, gets its own customer's figures."""
    import numpy as np

    from customer_ml.value.btyd import rfm_summary
    from customer_ml.value.churn import BTYDConfig, History, _positions

    rng = np.random.default_rng(3)
    ids = np.array([f"c{i:03d}" for i in rng.integers(0, 300, 5000)], dtype=object)
    days = rng.integers(0, 400, 5000)
    ts = (np.datetime64("2025-01-01T10:00", "us") + days.astype("timedelta64[D]")).astype("datetime64[us]")
    amount = rng.gamma(2.0, 20.0, 5000)
    log = pa.table(
        {"customer_id": ids, "transacted_at": ts, "amount": amount, "is_purchase": np.ones(5000, bool)}
    )
    as_of = dt.date(2026, 2, 1)
    history = History(log, as_of, BTYDConfig(horizon_days=90))
    summary = rfm_summary(ids, ts, amount, np.datetime64("2026-02-01"))
    assert history.result.table.column("customer_id").to_pylist() == list(summary.customer_id)
    assert history.result.table.column("btyd_frequency").to_pylist() == list(summary.frequency.astype(float))
    batch_ids = ["c999", *sorted(set(ids.tolist()), reverse=True)[:50], "c000x"]
    joined = history.join(pa.table({"customer_id": batch_ids}))
    by_id = dict(
        zip(
            history.result.table.column("customer_id").to_pylist(),
            history.result.table.column("p_alive").to_pylist(),
            strict=True,
        )
    )
    assert joined.column("p_alive").to_pylist() == [by_id.get(i) for i in batch_ids]
    window = (ts >= np.datetime64("2025-11-03", "us")) & (ts < np.datetime64("2026-02-01", "us"))
    revenue = {i: float(amount[window & (ids == i)].sum()) for i in batch_ids}
    assert joined.column("revenue_last_horizon").to_pylist() == pytest.approx([revenue[i] for i in batch_ids])
    keys = np.array([3, 7, 11, 3], dtype=np.int64)
    assert _positions(keys, np.array([7, 3, 5], dtype=np.int64)).tolist() == [1, 0, -1, 1]


def test_boosters_score_column_major_matrices_the_same() -> None:
    """tree_input only changes the layout the boosters read: the same predictions, bit for bit."""
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier

    from customer_ml.features.preprocessing import tree_input

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 12))
    X[rng.random(X.shape) < 0.05] = np.nan
    y = (X[:, 0] + np.nan_to_num(X[:, 3]) + rng.normal(size=3000) > 0).astype(int)
    model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X, y)
    assert tree_input(X).flags["F_CONTIGUOUS"]
    assert np.array_equal(model.predict_proba(X), model.predict_proba(tree_input(X)))
    # Columns appended in the same pass: what np.column_stack gives, column-major, in the common type.
    extra = rng.normal(size=3000)
    joined = tree_input(X[:, :11].astype(np.float32), extra)
    assert joined.flags["F_CONTIGUOUS"] and joined.dtype == np.float64
    assert np.array_equal(joined, np.column_stack([X[:, :11].astype(np.float32), extra]), equal_nan=True)
    assert np.array_equal(tree_input(np.zeros((4, 0), np.float32), np.arange(4.0)), np.arange(4.0)[:, None])


def test_boosters_give_the_same_numbers_on_binned_input(monkeypatch: pytest.MonkeyPatch) -> None:
    """booster_output: the public method's numbers bit for bit, for classifiers and regressors, with
    values missing where the fit saw none, outside the fitted range and on the bin thresholds; wrappers
    and categorical boosters go through the public method; the model is left as it was."""
    import numpy as np
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    from customer_ml.features.preprocessing import booster_output, tree_input

    rng = np.random.default_rng(1)
    X = rng.normal(size=(4000, 6))
    X[:, 5] = rng.integers(0, 4, size=4000)  # few distinct values: one bin each
    X[rng.random(X.shape) < 0.05] = np.nan
    X[:, 4] = rng.normal(size=4000)  # no missing value in the fit
    y = (np.nan_to_num(X[:, 0]) + X[:, 4] + rng.normal(size=4000) > 0).astype(int)
    revenue = np.exp(np.nan_to_num(X[:, 1])) * (y + 0.5)
    models = {
        "classifier": HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(X, y),
        "regressor": HistGradientBoostingRegressor(max_iter=40, random_state=0).fit(X, np.log1p(revenue)),
        "poisson": HistGradientBoostingRegressor(loss="poisson", max_iter=40, random_state=0).fit(X, revenue),
    }
    new = rng.normal(scale=3.0, size=(3000, 6))
    new[:50] = 1e12
    new[50:100] = -1e12
    new[100:150, 4] = np.nan
    new[150:200, 5] = 7.0
    thresholds = models["classifier"]._bin_mapper.bin_thresholds_
    new[200 : 200 + len(thresholds[0]), 0] = thresholds[0]
    new[rng.random(new.shape) < 0.05] = np.nan
    for name, model in models.items():
        method = "predict_proba" if name == "classifier" else "predict"
        for data in (new, tree_input(new), new.astype(np.float32)):
            assert np.array_equal(booster_output(model, data, method), getattr(model, method)(data)), name
        assert not hasattr(model, "_in_fit")
    # The plain boosters did take the binned path.
    mapper, binned = models["classifier"]._bin_mapper, []
    transform = mapper.transform
    mapper.transform = lambda Z: binned.append(len(Z)) or transform(Z)
    booster_output(models["classifier"], new)
    assert binned == [len(new)]
    # Under a scikit-learn release it was not checked against: the public method.
    monkeypatch.setattr("customer_ml.features.preprocessing.BINNED_PREDICTION_VERSIONS", ("0.0.",))
    assert np.array_equal(booster_output(models["classifier"], new), models["classifier"].predict_proba(new))
    assert binned == [len(new)]
    monkeypatch.undo()
    del mapper.transform
    calibrated = CalibratedClassifierCV(HistGradientBoostingClassifier(max_iter=10, random_state=0), cv=3)
    filled, new_filled = np.nan_to_num(X), np.nan_to_num(new)
    calibrated.fit(filled, y)
    assert np.array_equal(booster_output(calibrated, new_filled), calibrated.predict_proba(new_filled))
    categorical = HistGradientBoostingClassifier(max_iter=10, categorical_features=[5], random_state=0)
    categorical.fit(filled, y)
    assert np.array_equal(booster_output(categorical, new_filled), categorical.predict_proba(new_filled))


def test_training_caps_read_the_versions_models_vars_as_train_versions_keywords():
    assert training_caps("100000", "null", "200000") == {
        "max_fit_customers": 100_000,
        "max_value_fit_customers": None,
        "max_backtest_customers": 200_000,
    }
    assert set(training_caps(None, "", "None").values()) == {None}


def test_a_new_horizon_or_fit_size_retrains_the_churn_and_value_models():
    """The stored models predict over the horizon they were trained on: a build with another
    prediction_horizon_days (or other fit sizes) trains new ones instead of applying them."""
    stored = {
        "config": json.dumps(
            {
                "btyd": {"horizon_days": 90},
                "churn": {"max_fit_customers": 100_000},
                "value": {"max_fit_customers": 50_000},
            }
        )
    }
    caps = training_caps("100000", "50000", "200000")
    assert config_change(stored, 90, caps) is None
    assert config_change(stored, 90, training_caps("100000", "50000", "1000")) is None  # evaluation only
    horizon = config_change(stored, 30, caps)
    assert horizon == "configuration changed: prediction_horizon_days 90 -> 30"
    assert decide_retrain(_version(), AS_OF, RetrainPolicy(), INPUTS, config_change=horizon).retrain
    assert config_check(30, caps)(stored) == horizon
    sizes = config_change(stored, 90, training_caps("null", "50000", "200000"))
    assert sizes == "configuration changed: churn_fit_customers 100000 -> None"


def test_a_version_is_scored_with_the_btyd_config_it_was_trained_with():
    """Scoring fits BG/NBD and Gamma-Gamma as of the current date as the stored version's config says: a
    version stored before the bounded fit existed fitted them on every customer, and is scored so."""
    old = {"horizon_days": 60, "penalizer": 0.0, "retry_penalizer": 0.001, "min_repeat_customers": 20}
    assert stored_btyd_config(old) == BTYDConfig(horizon_days=60, max_fit_customers=None)
    new = {**old, "max_fit_customers": 100_000, "seed": 3, "a_later_field": 1}
    assert stored_btyd_config(new) == BTYDConfig(horizon_days=60, max_fit_customers=100_000, seed=3)


def test_the_scores_columns_join_the_batches_chunks_as_they_are() -> None:
    """The scores' columns gather arrays and chunked arrays from the batches: the values come out as
    `pa.chunked_array` gives them, a chunk of another type cast to the column's, no chunk at all empty."""
    from customer_ml.value.predictions import _joined

    parts = [
        pa.array([0.5, None]),
        pa.chunked_array([pa.array([1.0]), pa.array([2.0, 3.0])]),
        pa.chunked_array([pa.array([4, 5])]),
    ]
    joined = _joined(parts, pa.float64())
    assert joined.type == pa.float64()
    assert joined.to_pylist() == [0.5, None, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert joined.equals(pa.chunked_array([p.to_pylist() for p in parts], pa.float64()))
    assert _joined([], pa.string()).equals(pa.chunked_array([], pa.string()))
