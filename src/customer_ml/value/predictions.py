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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, fields, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer_ml.nn.device import cpu_threads
from customer_ml.registry import model_inputs, version_row
from customer_ml.serialization import jsonable
from customer_ml.value.churn import (
    BACKTEST_EVAL_CUSTOMERS,
    SCORE_BATCH_ROWS,
    BTYDConfig,
    ChurnConfig,
    ChurnModel,
    History,
    PurchaseLog,
    ValueConfig,
    ValueModel,
    add_history_features,
    backtest,
)
from customer_ml.warehouse.progress import Progress, Say

KIND = "churn_value"


def snapshot(features: pa.Table | Mapping[str, pa.Table], name: str) -> pa.Table:
    """The rows of one snapshot ('current', 'training', 'backtest') of a multi-snapshot feature table, or
    the table of that name in a {snapshot name: table} mapping (an empty table when it has none)."""
    if isinstance(features, Mapping):
        return features.get(name, _EMPTY)
    return features.filter(pc.equal(features.column("snapshot_name"), name))


_EMPTY = pa.table({"customer_id": pa.array([], pa.int64())})


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
    with cpu_threads(ONE_THREAD):
        return _train_version(*args, **kwargs)


def _train_version(
    features: pa.Table | Mapping[str, pa.Table],
    outcomes: pa.Table | Mapping[str, pa.Table],
    transactions: pa.Table,
    catalog: Any,
    previous: dict[str, Any] | None,
    horizon_days: int,
    reason: str,
    say: Say | None = None,
    max_fit_customers: int | None = ChurnConfig.max_fit_customers,
    as_of_date: Any = None,
    max_value_fit_customers: int | None = ValueConfig.max_fit_customers,
    max_backtest_customers: int | None = BACKTEST_EVAL_CUSTOMERS,
) -> pa.Table:
    """Backtest, then fit churn and value models on the training snapshot: one registry row. `features`
    and `outcomes` are multi-snapshot tables or {snapshot name: table} (the 'current' snapshot may be left
    out when `as_of_date` is given: only its date is read). `say` receives progress lines (step done,
    elapsed, estimate); the churn model is fitted on a seeded sample of at most `max_fit_customers`
    labelled customers, the value model on at most `max_value_fit_customers` (None: all), and the backtest
    evaluated on a seeded sample of at most `max_backtest_customers` of the training snapshot. The final
    models take the method, value target and BG/NBD weight that the backtest chose (the same recipe one
    horizon earlier) instead of comparing the candidates again."""
    specs = model_inputs(catalog)
    churn_cfg = ChurnConfig(horizon_days=horizon_days, max_fit_customers=max_fit_customers)
    value_cfg = ValueConfig(horizon_days=horizon_days, max_fit_customers=max_value_fit_customers)
    btyd_cfg = BTYDConfig(horizon_days=horizon_days)
    past, training, current = (snapshot(features, n) for n in ("backtest", "training", "current"))
    current_date = _date(current) if current.num_rows else as_of_date
    del features  # each snapshot is held once
    has_backtest = bool(past.num_rows and training.num_rows)
    progress = Progress(say, "training", 8 if has_backtest else 3, unit="steps", every_s=0)
    caps = [cfg.max_fit_customers for cfg in (churn_cfg, value_cfg)]
    progress.update(
        0,
        f"{training.num_rows:,} training and {past.num_rows:,} backtest customers; churn and value models "
        "fitted on " + " and ".join("all of them" if cap is None else f"at most {cap:,}" for cap in caps),
    )
    log = PurchaseLog.of(transactions)
    # Each snapshot's BTYD scores are computed once: the backtest evaluates on the training snapshot that
    # the final models are then fitted on.
    btyd_training = None
    if training.num_rows:
        training, btyd_training = add_history_features(training, log, _date(training), btyd_cfg)
        progress.step("BG/NBD and Gamma-Gamma as of the training date")
    backtest_rows: list[dict[str, Any]] = []
    chosen: dict[str, Any] = {}
    if has_backtest:
        past, _ = add_history_features(past, log, _date(past), btyd_cfg)
        progress.step("BG/NBD and Gamma-Gamma as of the backtest date")
        backtest_rows = backtest(
            past,
            labels_of(outcomes, "backtest"),
            training,
            labels_of(outcomes, "training"),
            None,
            catalog=specs,
            churn_config=churn_cfg,
            value_config=value_cfg,
            btyd_config=btyd_cfg,
            step=progress.step,
            models=chosen,
            max_eval_customers=max_backtest_customers,
        )
        del past
        progress.step("backtest evaluated")
    churn_cfg, value_cfg = _backtest_choices(churn_cfg, value_cfg, chosen)
    labels = labels_of(outcomes, "training")
    churn, value = ChurnModel(churn_cfg), ValueModel(value_cfg)
    if training.num_rows:
        lapsed, revenue = _aligned_labels(training, labels)
        churn.fit(training, lapsed, specs)
        progress.step("churn model fitted")
        value.fit(training, revenue, specs)
        progress.step("value model fitted")
    else:  # no history before one horizon ago: both models fall back to BG/NBD at the current date
        churn.fit(current, None, specs)
        value.fit(current, None, specs)
        progress.update(progress.total, "no training snapshot: BG/NBD fallback")
    metrics = {
        "backtest": [jsonable(row) for row in backtest_rows],
        "churn_method": churn.method_,
        "value_method": value.method_,
        "chosen_by_backtest": {
            "churn_method": churn_cfg.method,
            "value_target": value_cfg.target,
            "btyd_weight": value_cfg.btyd_weight,
        },
        "fit_customers": {
            "churn": getattr(churn, "fit_customers_", None),
            "value": getattr(value, "fit_customers_", None),
            "labelled": getattr(churn, "labelled_customers_", None),
        },
        "btyd_training": None if btyd_training is None else jsonable(btyd_training.params),
    }
    buffer = io.BytesIO()
    pickle.dump({"churn": churn, "value": value}, buffer)
    return version_row(
        KIND,
        previous,
        as_of_date=current_date,
        training_rows=training.num_rows,
        reason=reason,
        config={"churn": asdict(churn_cfg), "value": asdict(value_cfg), "btyd": asdict(btyd_cfg)},
        feature_names=[spec.name for spec in specs],
        metrics=metrics,
        weights=buffer.getvalue(),
    )


def fit_caps(*values: Any) -> list[int | None]:
    """The fit caps of the versions model's meta (text from dbt vars): a number, or None for null."""
    return [None if value in (None, "", "None", "none", "null") else int(value) for value in values]


def stored_btyd_config(stored: Mapping[str, Any]) -> BTYDConfig:
    """The BTYD config a stored version was trained with, which its scoring fits BG/NBD and Gamma-Gamma
    with as of the current date (the model inputs as the version learned them). A version stored before
    `max_fit_customers` existed fitted them on every customer, and is scored so."""
    known = {f.name for f in fields(BTYDConfig)}
    return BTYDConfig(**{"max_fit_customers": None, **{k: v for k, v in stored.items() if k in known}})


def config_change(stored: dict[str, Any], horizon_days: int, caps: Mapping[str, int | None]) -> str | None:
    """What the build's vars change against a stored version's configuration, in words, or None: the
    prediction horizon (the stored models predict over their own horizon, so a new one needs new models)
    and the customers each model is fitted on (`caps`, from `training_caps`; the backtest's evaluation
    sample is evaluation only and takes effect at the next training)."""
    config = json.loads(stored["config"])
    pairs = {
        "prediction_horizon_days": (config.get("btyd", {}).get("horizon_days"), horizon_days),
        "churn_fit_customers": (config.get("churn", {}).get("max_fit_customers"), caps["max_fit_customers"]),
        "value_fit_customers": (
            config.get("value", {}).get("max_fit_customers"),
            caps["max_value_fit_customers"],
        ),
    }
    changed = [f"{name} {have!r} -> {want!r}" for name, (have, want) in pairs.items() if have != want]
    return "configuration changed: " + ", ".join(changed) if changed else None


def config_check(horizon_days: int, caps: Mapping[str, int | None]) -> Callable[[dict[str, Any]], str | None]:
    """`config_change` against this build's horizon and fit sizes, for `registry.retrain_step`."""
    return lambda stored: config_change(stored, horizon_days, caps)


def training_caps(churn: Any, value: Any, backtest: Any) -> dict[str, int | None]:
    """`train_version`'s sample caps as keyword arguments, from the versions model's meta (text from the
    dbt vars churn_fit_customers, value_fit_customers and backtest_customers; see `fit_caps`)."""
    keys = ("max_fit_customers", "max_value_fit_customers", "max_backtest_customers")
    return dict(zip(keys, fit_caps(churn, value, backtest), strict=True))


def _backtest_choices(
    churn_cfg: ChurnConfig, value_cfg: ValueConfig, models: dict[str, Any]
) -> tuple[ChurnConfig, ValueConfig]:
    """The configs of the final models: the churn method, value target and BG/NBD weight the backtest's
    models chose on their own held-out rows (where they did not fall back to BG/NBD), so the final models
    fit only what was chosen."""
    churn, value = models.get("churn"), models.get("value")
    if churn is not None and churn.method_ != "btyd":
        churn_cfg = replace(churn_cfg, method=churn.method_)
    if value is not None and value.method_ == "gradient_boosting":
        value_cfg = replace(value_cfg, target=value.target_, btyd_weight=value.btyd_weight_)
    return churn_cfg, value_cfg


def _aligned_labels(features: pa.Table, labels: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """(lapsed, future_revenue) of each row of `features` (NaN where the customer has no label)."""
    pick = pc.fill_null(pc.index_in(features.column("customer_id"), labels.column("customer_id")), -1)
    pick = np.asarray(pick.to_numpy(zero_copy_only=False), dtype=np.int64)
    missing = pick < 0

    def take(name: str) -> np.ndarray:
        values = np.asarray(labels.column(name).to_numpy(zero_copy_only=False), dtype=np.float64)
        picked = values[np.maximum(pick, 0)] if len(values) else np.zeros(len(pick))
        return np.where(missing, np.nan, picked)

    return take("lapsed"), take("future_revenue")


APPLY_BATCH_ROWS = SCORE_BATCH_ROWS
"""Customers scored at a time by apply_version (bounds the design matrix in memory)."""


def apply_version(
    version: dict[str, Any],
    features: pa.Table | Iterable[pa.Table],
    transactions: pa.Table,
    say: Say | None = None,
    total_rows: int | None = None,
) -> pa.Table:
    """churn_risk and predicted_ltv (expected net revenue over the horizon) for the current customers:
    `features` is the current snapshot, one Arrow table or its batches in order (e.g.
    `warehouse.arrow.snapshot_batches`, `total_rows` of them, for the progress lines), scored batch by
    batch (a table in slices of APPLY_BATCH_ROWS); `say` receives progress lines."""
    with cpu_threads(ONE_THREAD):
        return _apply_version(version, features, transactions, say, total_rows)


def _apply_version(
    version: dict[str, Any],
    features: pa.Table | Iterable[pa.Table],
    transactions: pa.Table,
    say: Say | None,
    total_rows: int | None,
) -> pa.Table:
    models = pickle.loads(version["weights"])  # noqa: S301 - our own blob, written by train_version
    btyd_cfg = stored_btyd_config(json.loads(version["config"])["btyd"])
    key_type = pa.int64()
    if isinstance(features, pa.Table):
        current = snapshot(features, "current")
        key_type = current.schema.field("customer_id").type
        total_rows = current.num_rows
        features = (
            current.slice(start, APPLY_BATCH_ROWS) for start in range(0, total_rows, APPLY_BATCH_ROWS)
        )
    progress = Progress(say, "scoring", total_rows or 0)
    history = None
    columns: dict[str, list[Any]] = {name: [] for name in ("customer_id", *_SCORES.names)}
    for batch in features:
        if not batch.num_rows:
            continue
        if history is None:  # the BG/NBD and Gamma-Gamma fit as of the current date, once
            history = History(transactions, _date(batch), btyd_cfg)
            progress.update(0, "BG/NBD and Gamma-Gamma done")
        batch = history.join(batch)
        n = batch.num_rows
        columns["customer_id"].append(batch.column("customer_id"))
        columns["churn_risk"].append(pa.array(np.clip(models["churn"].churn_risk(batch), 0.0, 1.0)))
        columns["predicted_ltv"].append(pa.array(np.maximum(models["value"].predict(batch), 0.0)))
        columns["p_alive"].append(batch.column("p_alive"))
        columns["expected_purchases"].append(batch.column("expected_purchases"))
        columns["btyd_expected_revenue"].append(batch.column("expected_revenue"))
        for name, value in (
            ("churn_method", models["churn"].method_),
            ("value_method", models["value"].method_),
            ("model_version", version["model_version"]),
        ):
            columns[name].append(pa.repeat(pa.scalar(value, pa.string()), n))
        progress.update(progress.done + n)
    key = pa.field("customer_id", columns["customer_id"][0].type if columns["customer_id"] else key_type)
    schema = pa.schema([key, *_SCORES])
    return pa.Table.from_arrays([_joined(columns[f.name], f.type) for f in schema], schema=schema)


def _joined(parts: list[Any], kind: pa.DataType) -> pa.ChunkedArray:
    """The batches' arrays and chunked arrays of one column as one chunked array of their chunks (given
    chunked arrays, `pa.chunked_array` copies every value through Python: at 913,107 customers 1.4 CPU s
    for the four columns taken from the batches)."""
    chunks = [
        chunk for part in parts for chunk in (part.chunks if isinstance(part, pa.ChunkedArray) else [part])
    ]
    return pa.chunked_array([chunk if chunk.type == kind else chunk.cast(kind) for chunk in chunks], kind)


_SCORES = pa.schema(
    [
        ("churn_risk", pa.float64()),
        ("predicted_ltv", pa.float64()),
        ("p_alive", pa.float64()),
        ("expected_purchases", pa.float64()),
        ("btyd_expected_revenue", pa.float64()),
        ("churn_method", pa.string()),
        ("value_method", pa.string()),
        ("model_version", pa.string()),
    ]
)
