"""Fraud model versions: the scorer is refitted when the as-of date or the flagging rule changes (or when
asked to)."""

import json

from segmentation.fraud import flagging_change
from segmentation.predictions import FRAUD_KIND, should_train, train_fraud_version
from segmentation.progress import dbt_progress
from segmentation.registry import RetrainPolicy, empty_registry, latest_version
from segmentation.warehouse import feature_catalog, known_labels, to_arrow


def model(dbt, session):
    current = to_arrow(dbt.ref("int_as_of_dates").filter("is_current"))
    if current.num_rows == 0:  # only when stg_raw__transactions is empty, which the build stops on
        raise ValueError("no as-of date: no accepted transaction (see marts.data_quality)")
    as_of_date = current.column("as_of_date")[0].as_py()
    stored = to_arrow(session.sql(f"select * from {dbt.this}")) if dbt.is_incremental else None
    previous = latest_version(stored, FRAUD_KIND)
    policy = RetrainPolicy(dbt.config.meta_get("retrain"))
    train, reason = should_train(previous, as_of_date, policy)
    flagging = json.loads(dbt.config.meta_get("flagging"))
    if not train and previous is not None and policy.mode != "never":
        change = flagging_change(json.loads(previous["config"]), flagging)
        train, reason = (True, change) if change else (train, reason)
    say = dbt_progress("fraud")
    say(("training a new version: " if train else "") + reason)
    if not train:
        return empty_registry()
    risk = to_arrow(dbt.ref("int_transactions_risk").order("transaction_id"))
    labels = known_labels(dbt.ref("stg_raw__fraud_labels"), as_of_date)
    catalog = feature_catalog(dbt.ref("int_feature_catalog"))
    seed = int(dbt.config.meta_get("seed"))
    return train_fraud_version(risk, labels, catalog, previous, as_of_date, reason, seed, flagging, say)
