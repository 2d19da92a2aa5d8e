"""Churn risk and predicted lifetime value, learned by replaying the warehouse's own history.

A version is trained on the 'training' snapshot (features as of T - h, labels from [T - h, T)) and
applied to the 'current' one (T). Before that, the same recipe is backtested one horizon earlier (fit on
T - 2h, evaluate on T - h) against recency, RFM and BG/NBD baselines: those rows are the evaluation
stored with the version. predicted_ltv is expected net revenue over the next h days.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import pickle
from dataclasses import asdict
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from threadpoolctl import threadpool_limits

from customer_ml.registry import model_inputs, version_row
from customer_ml.value.churn import (
    BTYDConfig,
    ChurnConfig,
    ChurnModel,
    ValueConfig,
    ValueModel,
    add_history_features,
    backtest,
)

KIND = "churn_value"


def snapshot(features: pa.Table, name: str) -> pa.Table:
    """The rows of one snapshot ('current', 'training', 'backtest') of a multi-snapshot feature table."""
    return features.filter(pc.equal(features.column("snapshot_name"), name))


def labels_of(outcomes: pa.Table, name: str) -> pa.Table:
    """customer_id, lapsed, future_revenue of one snapshot, as the churn module expects them."""
    rows = snapshot(outcomes, name)
    return pa.table(
        {
            "customer_id": rows.column("customer_id"),
            "lapsed": pc.cast(rows.column("is_lapsed"), pa.float64()),
            "future_revenue": pc.cast(rows.column("future_revenue"), pa.float64()),
        }
    )


def _date(table: pa.Table) -> dt.date | None:
    return table.column("as_of_date")[0].as_py() if table.num_rows else None


# Gradient boosting runs OpenMP threads; on a small, shared machine oversubscription made training 15x
# slower (121 s against 7.4 s on 20,000 customers, same figures), so the models run on one thread.
ONE_THREAD = 1


def train_version(*args: Any, **kwargs: Any) -> pa.Table:
    """Backtest, then fit churn and value models on the training snapshot: one registry row."""
    with threadpool_limits(ONE_THREAD):
        return _train_version(*args, **kwargs)


def _train_version(
    features: pa.Table,
    outcomes: pa.Table,
    transactions: pa.Table,
    catalog: Any,
    previous: dict[str, Any] | None,
    horizon_days: int,
    reason: str,
) -> pa.Table:
    """Backtest, then fit churn and value models on the training snapshot: one registry row."""
    specs = model_inputs(catalog)
    churn_cfg = ChurnConfig(horizon_days=horizon_days)
    value_cfg = ValueConfig(horizon_days=horizon_days)
    btyd_cfg = BTYDConfig(horizon_days=horizon_days)
    past, training, current = (snapshot(features, n) for n in ("backtest", "training", "current"))
    backtest_rows: list[dict[str, Any]] = []
    if past.num_rows and training.num_rows:
        backtest_rows = backtest(
            past,
            labels_of(outcomes, "backtest"),
            training,
            labels_of(outcomes, "training"),
            transactions,
            catalog=specs,
            churn_config=churn_cfg,
            value_config=value_cfg,
            btyd_config=btyd_cfg,
            as_of_dates=(_date(past), _date(training)),
        )
    labels = labels_of(outcomes, "training")
    churn, value = ChurnModel(churn_cfg, specs), ValueModel(value_cfg, specs)
    if training.num_rows:
        training, btyd_training = add_history_features(training, transactions, _date(training), btyd_cfg)
        lapsed, revenue = _aligned_labels(training, labels)
        churn.fit(training, lapsed)
        value.fit(training, revenue)
    else:  # no history before one horizon ago: both models fall back to BG/NBD at the current date
        btyd_training = None
        churn.fit(current, None)
        value.fit(current, None)
    _, btyd_current = add_history_features(current, transactions, _date(current), btyd_cfg)
    metrics = {
        "backtest": [_clean(row) for row in backtest_rows],
        "churn_method": churn.method_,
        "value_method": value.method_,
        "btyd_training": None if btyd_training is None else _clean(btyd_training.params),
        "btyd_current": _clean(btyd_current.params),
        "btyd_current_reason": btyd_current.reason,
    }
    buffer = io.BytesIO()
    pickle.dump({"churn": churn, "value": value}, buffer)
    return version_row(
        KIND,
        previous,
        as_of_date=_date(current),
        training_rows=training.num_rows,
        reason=reason,
        config={"churn": asdict(churn_cfg), "value": asdict(value_cfg), "btyd": asdict(btyd_cfg)},
        feature_names=[spec.name for spec in specs],
        metrics=metrics,
        weights=buffer.getvalue(),
    )


def _aligned_labels(features: pa.Table, labels: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    index = {cid: i for i, cid in enumerate(labels.column("customer_id").to_pylist())}
    lapsed = labels.column("lapsed").to_numpy(zero_copy_only=False)
    revenue = labels.column("future_revenue").to_numpy(zero_copy_only=False)
    rows = [index.get(cid) for cid in features.column("customer_id").to_pylist()]
    pick = np.array([-1 if r is None else r for r in rows])
    missing = pick < 0
    return (
        np.where(missing, np.nan, lapsed[np.maximum(pick, 0)]),
        np.where(missing, np.nan, revenue[np.maximum(pick, 0)]),
    )


def _clean(value: Any) -> Any:
    """JSON-safe copy (numpy scalars to Python, non-finite floats to None)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def apply_version(version: dict[str, Any], features: pa.Table, transactions: pa.Table) -> pa.Table:
    """churn_risk and predicted_ltv (expected net revenue over the horizon) for the current customers."""
    with threadpool_limits(ONE_THREAD):
        return _apply_version(version, features, transactions)


def _apply_version(version: dict[str, Any], features: pa.Table, transactions: pa.Table) -> pa.Table:
    models = pickle.loads(version["weights"])  # noqa: S301 - our own blob, written by train_version
    horizon = json.loads(version["config"])["btyd"]["horizon_days"]
    current = snapshot(features, "current")
    current, _ = add_history_features(current, transactions, _date(current), BTYDConfig(horizon_days=horizon))
    churn_risk = np.clip(models["churn"].predict_proba(current), 0.0, 1.0)
    predicted_ltv = np.maximum(models["value"].predict(current), 0.0)
    return pa.table(
        {
            "customer_id": current.column("customer_id"),
            "churn_risk": pa.array(churn_risk, pa.float64()),
            "predicted_ltv": pa.array(predicted_ltv, pa.float64()),
            "p_alive": current.column("p_alive"),
            "expected_purchases": current.column("expected_purchases"),
            "btyd_expected_revenue": current.column("expected_revenue"),
            "churn_method": pa.array([models["churn"].method_] * current.num_rows, pa.string()),
            "value_method": pa.array([models["value"].method_] * current.num_rows, pa.string()),
            "model_version": pa.array([version["model_version"]] * current.num_rows, pa.string()),
        }
    )


def backtest_evaluation(version: dict[str, Any]) -> list[dict[str, Any]]:
    """The version's backtest rows as evaluation rows (task, model, metric, value, note)."""
    rows = []
    for row in json.loads(version["metrics"])["backtest"]:
        value = row.get("value")
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        note = "backtest: fit as of T - 2h, evaluated on the outcomes of [T - h, T)"
        rows.append(
            {
                "task": row["task"],
                "model": row["model"],
                "metric": row["metric"],
                "value": value,
                "note": note,
            }
        )
    return rows


FRAUD_KIND = "fraud"


def train_fraud_version(
    risk: pa.Table,
    labels: pa.Table | None,
    catalog: Any,
    previous: dict[str, Any] | None,
    as_of_date: dt.date,
    reason: str,
    seed: int,
    flagging: dict[str, Any] | None = None,
) -> pa.Table:
    """Fit the fraud scorer on the transactions' risk features (and the labels known before the as-of
    date): one registry row, whose metrics hold the held-out evaluation against IsolationForest and the
    expected precision and recall of the flags on the whole population. `flagging`: FraudConfig fields
    of the flagging rule (alert_share, alerts_per_day, target_precision)."""
    from customer_ml.fraud.scorer import FraudConfig, FraudScorer

    scorer = FraudScorer(FraudConfig(seed=seed, **(flagging or {}))).fit(risk, catalog, labels)
    record = scorer.to_record()
    evaluation = [_clean(row) for row in scorer.evaluate().to_pylist()]
    # Everything but config and weights: preprocessing state, thresholds, label status, metrics.
    state = {key: value for key, value in record.items() if key not in ("config", "weights")}
    return version_row(
        FRAUD_KIND,
        previous,
        as_of_date=as_of_date,
        training_rows=risk.num_rows,
        reason=reason,
        config=_clean(record["config"]),
        feature_names=_clean(record.get("feature_names", [])),
        preprocessing=_clean(state),
        metrics={"evaluation": evaluation},
        weights=record["weights"],
    )


def load_fraud_scorer(version: dict[str, Any]) -> Any:
    """The fitted fraud scorer of a registry row."""
    from customer_ml.fraud.scorer import FraudScorer

    record = json.loads(version["preprocessing"])
    record["config"] = json.loads(version["config"])
    record["weights"] = version["weights"]
    return FraudScorer.from_record(record)
