"""Churn risk and predicted lifetime value of every current customer, from the latest stored version."""

from segmentation.predictions import KIND, apply_version
from segmentation.progress import dbt_progress
from segmentation.registry import latest_version
from segmentation.warehouse import current_snapshot, purchase_log, to_arrow


def model(dbt, session):
    version = latest_version(to_arrow(dbt.ref("churn_value_model_versions")), KIND)
    features = current_snapshot(dbt.ref("int_customers_features"))
    purchases = purchase_log(dbt.ref("stg_raw__transactions"))
    return apply_version(version, features, purchases, dbt_progress("churn and value"))
