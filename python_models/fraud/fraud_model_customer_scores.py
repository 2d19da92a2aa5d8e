"""Fraud score, flag and reasons of every customer, rolled up from their transactions' scores: grouped in
DuckDB, the reasons of each customer's riskiest transactions merged in Python
(customer_ml.fraud.reasons.customer_rollup_relation)."""

import pyarrow as pa

from customer_ml.fraud.versions import KIND, load_scorer
from customer_ml.registry import latest_version


def model(dbt, session):
    version = latest_version(dbt.ref("fraud_model_versions"), KIND)
    scores = dbt.ref("fraud_model_transaction_scores")
    customers = load_scorer(version).customer_scores(scores)
    label = pa.scalar(version["model_version"], pa.string())
    return customers.append_column("model_version", pa.repeat(label, customers.num_rows))
