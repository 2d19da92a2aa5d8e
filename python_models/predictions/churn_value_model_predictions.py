"""Churn risk and predicted lifetime value of every current customer, from the latest stored version,
scored in Arrow batches streamed from the warehouse."""

from customer_ml.registry import latest_version
from customer_ml.value.predictions import APPLY_BATCH_ROWS, KIND, apply_version
from customer_ml.warehouse.arrow import current_batches, purchase_log
from customer_ml.warehouse.progress import dbt_progress


def model(dbt, session):
    version = latest_version(dbt.ref("churn_value_model_versions"), KIND)
    purchases = purchase_log(dbt.ref("stg_raw__transactions"))
    batches, rows = current_batches(dbt.ref("int_customers_features"), APPLY_BATCH_ROWS)
    return apply_version(version, batches, purchases, dbt_progress("churn and value"), rows)
