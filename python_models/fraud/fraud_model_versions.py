"""Fraud model versions: the scorer is refitted when the registry's retrain decision says so (no model,
a changed flagging rule, age, or when asked to)."""

import json

from customer_ml.fraud.scorer import flagging_change
from customer_ml.registry import (
    RetrainPolicy,
    decide_retrain,
    empty_registry,
    latest_version,
    stored_versions,
)
from customer_ml.value.predictions import FRAUD_KIND, train_fraud_version
from customer_ml.warehouse.arrow import feature_catalog, known_labels, to_arrow
from customer_ml.warehouse.progress import dbt_progress


def model(dbt, session):
    current = to_arrow(dbt.ref("int_as_of_dates").filter("is_current"))
    if current.num_rows == 0:  # only when stg_raw__transactions is empty, which the build stops on
        raise ValueError("no as-of date: no accepted transaction (see marts.data_quality)")
    as_of_date = current.column("as_of_date")[0].as_py()
    previous = latest_version(stored_versions(dbt, session), FRAUD_KIND)
    flagging = json.loads(dbt.config.meta_get("flagging"))
    change = None if previous is None else flagging_change(json.loads(previous["config"]), flagging)
    policy = RetrainPolicy.from_meta(dbt.config.meta_get)
    decision = decide_retrain(previous, as_of_date, policy, None, config_change=change)
    train, reason = decision.retrain, decision.reason
    dbt_progress("fraud")(("training a new version: " if train else "") + reason)
    if not train:
        return empty_registry()
    risk = to_arrow(dbt.ref("int_transactions_risk").order("transaction_id"))
    labels = known_labels(dbt.ref("stg_raw__fraud_labels"), as_of_date)
    catalog = feature_catalog(dbt.ref("int_feature_catalog"))
    seed = int(dbt.config.meta_get("seed"))
    return train_fraud_version(risk, labels, catalog, previous, as_of_date, reason, seed, flagging)
