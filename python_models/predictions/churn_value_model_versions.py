"""Churn and lifetime-value model versions: backtested and trained when the registry's retrain decision
says so (no model, changed inputs, age, or when asked to)."""

from customer_ml.registry import (
    RetrainPolicy,
    decide_retrain,
    empty_registry,
    latest_version,
    model_inputs,
    stored_versions,
)
from customer_ml.value.predictions import KIND, train_version
from customer_ml.warehouse.arrow import feature_catalog, purchase_log, to_arrow
from customer_ml.warehouse.progress import dbt_progress


def model(dbt, session):
    previous = latest_version(stored_versions(dbt, session), KIND)
    current = to_arrow(dbt.ref("int_as_of_dates").filter("is_current"))
    if current.num_rows == 0:  # only when stg_raw__transactions is empty, which the build stops on
        raise ValueError("no as-of date: no accepted transaction (see marts.data_quality)")
    as_of_date = current.column("as_of_date")[0].as_py()
    catalog = feature_catalog(dbt.ref("int_feature_catalog"))
    inputs = [spec.name for spec in model_inputs(catalog)]
    decision = decide_retrain(previous, as_of_date, RetrainPolicy.from_meta(dbt.config.meta_get), inputs)
    train, reason = decision.retrain, decision.reason
    say = dbt_progress("churn and value")
    say(("training a new version: " if train else "") + reason)
    if not train:
        return empty_registry()
    features = to_arrow(dbt.ref("int_customers_features").order("snapshot_name, customer_id"))
    outcomes = to_arrow(dbt.ref("int_customers_outcomes").order("snapshot_name, customer_id"))
    purchases = purchase_log(dbt.ref("stg_raw__transactions"))
    horizon = int(dbt.config.meta_get("prediction_horizon_days"))
    return train_version(features, outcomes, purchases, catalog, previous, horizon, reason)
