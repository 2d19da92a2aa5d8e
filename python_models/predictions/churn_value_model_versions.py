"""Churn and lifetime-value model versions: backtested and trained when the registry's retrain decision
says so (no model, changed inputs, horizon or fit sizes, age, or when asked to)."""

from customer_ml.registry import RetrainPolicy, empty_registry, model_inputs, retrain_step
from customer_ml.value.predictions import KIND, config_check, train_version, training_caps
from customer_ml.warehouse.arrow import current_as_of_date, feature_catalog, purchase_log, snapshot_tables


def model(dbt, session):
    as_of_date = current_as_of_date(dbt.ref("int_as_of_dates"))
    catalog = feature_catalog(dbt.ref("int_feature_catalog"))
    policy = RetrainPolicy.from_vars(
        dbt.config.meta_get("retrain"),
        dbt.config.meta_get("retrain_max_age_days"),
        dbt.config.meta_get("retrain_max_drift_psi"),
    )
    inputs = [spec.name for spec in model_inputs(catalog)]
    horizon = int(dbt.config.meta_get("prediction_horizon_days"))
    # The meta keys are read one literal call each: dbt passes a Python model only the meta keys it finds
    # in dbt.config.meta_get("...") calls.
    caps = training_caps(
        dbt.config.meta_get("churn_fit_customers"),
        dbt.config.meta_get("value_fit_customers"),
        dbt.config.meta_get("backtest_customers"),
    )
    change = config_check(horizon, caps)
    previous, decision, say = retrain_step(
        dbt, session, KIND, as_of_date, policy, inputs, config_change=change, topic="churn and value"
    )
    if not decision.retrain:
        return empty_registry()
    features = snapshot_tables(dbt.ref("int_customers_features"))  # backtest and training
    outcomes = snapshot_tables(dbt.ref("int_customers_outcomes"))
    purchases = purchase_log(dbt.ref("stg_raw__transactions"))
    args = (features, outcomes, purchases, catalog, previous, horizon)
    return train_version(*args, reason=decision.reason, say=say, as_of_date=as_of_date, **caps)
