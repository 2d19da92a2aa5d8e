"""Churn risk and predicted lifetime value of every current customer, from the latest stored version."""

from customer_ml.registry import latest_version
from customer_ml.value.predictions import KIND, apply_version
from customer_ml.warehouse.arrow import current_snapshot, purchase_log
from customer_ml.warehouse.progress import dbt_progress


def model(dbt, session):
    version = latest_version(dbt.ref("churn_value_model_versions"), KIND)
    features = current_snapshot(dbt.ref("int_customers_features"))
    purchases = purchase_log(dbt.ref("stg_raw__transactions"))
    return apply_version(version, features, purchases, dbt_progress("churn and value"))
