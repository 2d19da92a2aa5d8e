"""Fraud score, flag and reasons of every transaction, from the latest stored fraud model version: streamed
from DuckDB through the scorer and back in batches (customer_ml.fraud.versions.score_relation).
An incremental model (delete+insert on transaction_id): a build that finds the table keeps its rows in
place wherever the transaction's risk row, the version and the scoring code are unchanged (var
incremental_fraud_scores) and returns only the transactions scored now, which replace their stored rows;
the post-hook deletes the rows of transactions no longer in int_transactions_risk. So a daily build scores
the new transactions and those whose features moved, a retrained version scores them all, and a first
build or --full-refresh writes the table whole."""

from customer_ml.fraud.versions import KIND, score_relation
from customer_ml.registry import latest_version
from customer_ml.warehouse.progress import dbt_progress


def model(dbt, session):
    version = latest_version(dbt.ref("fraud_model_versions"), KIND)
    risk = dbt.ref("int_transactions_risk")
    stored = None
    if dbt.is_incremental and str(dbt.config.meta_get("reuse_stored_scores")).lower() == "true":
        stored = session.sql(f"select * from {dbt.this}")
    return score_relation(version, risk, dbt_progress("fraud"), stored, changed_only=dbt.is_incremental)
