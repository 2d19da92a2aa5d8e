"""Fraud score, flag and reasons of every customer, rolled up from their transactions' scores."""

import pyarrow as pa

from customer_ml.fraud.versions import KIND, load_scorer
from customer_ml.registry import latest_version
from customer_ml.warehouse.arrow import to_arrow


def model(dbt, session):
    version = latest_version(dbt.ref("fraud_model_versions"), KIND)
    scores = dbt.ref("fraud_model_transaction_scores").order("transaction_id")
    columns = scores.select("customer_id, fraud_score, is_flagged, top_reasons")
    customers = load_scorer(version).customer_scores(to_arrow(columns))
    label = pa.scalar(version["model_version"], pa.string())
    return customers.append_column("model_version", pa.repeat(label, customers.num_rows))
