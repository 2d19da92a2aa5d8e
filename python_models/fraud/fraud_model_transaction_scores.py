"""Fraud score, flag and reasons of every transaction, from the latest stored fraud model version: streamed
from DuckDB through the scorer and back in batches (customer_ml.fraud.versions.score_relation)."""

from customer_ml.fraud.versions import KIND, score_relation
from customer_ml.registry import latest_version
from customer_ml.warehouse.progress import dbt_progress


def model(dbt, session):
    version = latest_version(dbt.ref("fraud_model_versions"), KIND)
    risk = dbt.ref("int_transactions_risk").order("transaction_id")
    return score_relation(version, risk, dbt_progress("fraud"))
