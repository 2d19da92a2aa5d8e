"""Fraud model versions: the scorer is refitted when the registry's retrain decision says so (no model,
a changed flagging rule, age, or when asked to)."""

import json

from customer_ml.fraud.config import flagging_change
from customer_ml.fraud.versions import KIND, risk_rows, train_version
from customer_ml.registry import RetrainPolicy, empty_registry, retrain_step
from customer_ml.warehouse.arrow import current_as_of_date, feature_catalog, known_labels


def model(dbt, session):
    as_of_date = current_as_of_date(dbt.ref("int_as_of_dates"))
    flagging = json.loads(dbt.config.meta_get("flagging"))
    policy = RetrainPolicy.from_vars(
        dbt.config.meta_get("retrain"),
        dbt.config.meta_get("retrain_max_age_days"),
        dbt.config.meta_get("retrain_max_drift_psi"),
    )
    previous, decision, say = retrain_step(
        dbt,
        session,
        KIND,
        as_of_date,
        policy,
        None,
        config_change=lambda stored: flagging_change(json.loads(stored["config"]), flagging),
    )
    if not decision.retrain:
        return empty_registry()
    # The key columns of every transaction; the rows the fit samples are fetched when it needs them.
    risk = risk_rows(dbt.ref("int_transactions_risk"), session)
    labels = known_labels(dbt.ref("stg_raw__fraud_labels"), as_of_date)
    catalog = feature_catalog(dbt.ref("int_feature_catalog"))
    seed = int(dbt.config.meta_get("seed"))
    return train_version(risk, labels, catalog, previous, as_of_date, decision.reason, seed, flagging, say)
