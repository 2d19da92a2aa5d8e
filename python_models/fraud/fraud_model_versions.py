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
from customer_ml.warehouse.arrow import current_as_of_date, feature_catalog, known_labels, to_arrow
from customer_ml.warehouse.progress import dbt_progress


def model(dbt, session):
    as_of_date = current_as_of_date(dbt.ref("int_as_of_dates"))
    previous = latest_version(stored_versions(dbt, session), FRAUD_KIND)
    flagging = json.loads(dbt.config.meta_get("flagging"))
    change = None if previous is None else flagging_change(json.loads(previous["config"]), flagging)
    policy = RetrainPolicy.from_vars(
        dbt.config.meta_get("retrain"),
        dbt.config.meta_get("retrain_max_age_days"),
        dbt.config.meta_get("retrain_max_drift_psi"),
    )
    decision = decide_retrain(previous, as_of_date, policy, None, config_change=change)
    train, reason = decision.retrain, decision.reason
    say = dbt_progress("fraud")
    say(("training a new version: " if train else "") + reason)
    if not train:
        return empty_registry()
    risk = to_arrow(dbt.ref("int_transactions_risk").order("transaction_id"))
    labels = known_labels(dbt.ref("stg_raw__fraud_labels"), as_of_date)
    catalog = feature_catalog(dbt.ref("int_feature_catalog"))
    seed = int(dbt.config.meta_get("seed"))
    return train_fraud_version(risk, labels, catalog, previous, as_of_date, reason, seed, flagging, say)
