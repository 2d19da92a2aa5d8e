"""Fraud score, flag and reasons of every transaction, from the latest stored fraud model version: streamed
from DuckDB through the scorer and back in batches (customer_ml.fraud.versions.score_relation).
The scores this table held before are kept wherever the transaction's risk row, the version and the
scoring code are unchanged (var incremental_fraud_scores), so a daily build scores the new transactions
and those whose features moved, and a retrained version scores them all."""

from customer_ml.fraud.versions import KIND, score_relation
from customer_ml.registry import latest_version
from customer_ml.warehouse.progress import dbt_progress


def model(dbt, session):
    version = latest_version(dbt.ref("fraud_model_versions"), KIND)
    risk = dbt.ref("int_transactions_risk")
    stored = None
    if str(dbt.config.meta_get("reuse_stored_scores")).lower() == "true":
        this = dbt.this
        found = session.execute(
            "select count(*) from duckdb_tables()"
            " where database_name = ? and schema_name = ? and table_name = ?",
            [this.database, this.schema, this.identifier],
        ).fetchone()[0]
        if found:
            stored = session.sql(f"select * from {this}")
    return score_relation(version, risk, dbt_progress("fraud"), stored)
