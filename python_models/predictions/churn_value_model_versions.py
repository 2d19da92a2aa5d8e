"""Churn and lifetime-value model versions: backtested and trained when the as-of date moves on."""

from segmentation.predictions import KIND, should_train, train_version
from segmentation.progress import dbt_progress
from segmentation.registry import RetrainPolicy, empty_registry, latest_version, model_inputs
from segmentation.warehouse import feature_catalog, purchase_log, to_arrow


def model(dbt, session):
    features = to_arrow(dbt.ref("int_customers_features").order("snapshot_name, customer_id"))
    outcomes = to_arrow(dbt.ref("int_customers_outcomes").order("snapshot_name, customer_id"))
    purchases = purchase_log(dbt.ref("stg_raw__transactions"))
    stored = to_arrow(session.sql(f"select * from {dbt.this}")) if dbt.is_incremental else None
    previous = latest_version(stored, KIND)
    current = to_arrow(dbt.ref("int_as_of_dates").filter("is_current"))
    if current.num_rows == 0:  # only when stg_raw__transactions is empty, which the build stops on
        raise ValueError("no as-of date: no accepted transaction (see marts.data_quality)")
    as_of_date = current.column("as_of_date")[0].as_py()
    catalog = feature_catalog(dbt.ref("int_feature_catalog"))
    inputs = [spec.name for spec in model_inputs(catalog)]
    policy = RetrainPolicy(dbt.config.meta_get("retrain"))
    train, reason = should_train(previous, as_of_date, policy, inputs)
    say = dbt_progress("churn and value")
    say(("training a new version: " if train else "") + reason)
    if not train:
        return empty_registry()
    horizon = int(dbt.config.meta_get("prediction_horizon_days"))
    cap = dbt.config.meta_get("fit_customers")
    cap = None if cap in (None, "", "None", "none", "null") else int(cap)
    return train_version(features, outcomes, purchases, catalog, previous, horizon, reason, say, cap)
