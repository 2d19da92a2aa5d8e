"""Fraud score, flag and reasons of every transaction, from the latest stored fraud model version."""

import pyarrow as pa

from customer_ml.fraud.versions import KIND, load_scorer
from customer_ml.registry import latest_version
from customer_ml.warehouse.arrow import to_arrow
from customer_ml.warehouse.progress import dbt_progress


def model(dbt, session):
    version = latest_version(dbt.ref("fraud_model_versions"), KIND)
    scores = load_scorer(version).score(
        to_arrow(dbt.ref("int_transactions_risk").order("transaction_id")), dbt_progress("fraud")
    )
    return scores.append_column("model_version", pa.array([version["model_version"]] * scores.num_rows))
