"""Fraud score, flag and reasons of every customer, rolled up from their transactions' scores."""

import pyarrow as pa

from customer_ml.fraud.versions import KIND, load_scorer
from customer_ml.registry import latest_version
from customer_ml.warehouse.arrow import to_arrow


def model(dbt, session):
    version = latest_version(dbt.ref("fraud_model_versions"), KIND)
    transaction_scores = to_arrow(dbt.ref("fraud_model_transaction_scores").order("transaction_id"))
    customers = load_scorer(version).customer_scores(transaction_scores)
    return customers.append_column("model_version", pa.array([version["model_version"]] * customers.num_rows))
