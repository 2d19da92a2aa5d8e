"""What the adversarial term buys, measured once per segmentation version beside the fit, not inside it.

The robustness twins (encoders trained like the version's, without the adversarial term and, when they
see a sample of its training rows, with it on the same sample) are evaluation, not part of the model: in
their own node they train on one of dbt's threads while the version is applied, mapped and described on
the other, instead of lengthening the versions node every downstream mart waits for.
"""

import json

import pyarrow as pa

from customer_ml.registry import latest_version, of_version
from customer_ml.segmentation.evaluation import ROBUSTNESS_SCHEMA, robustness_row
from customer_ml.segmentation.versions import KIND, load_model
from customer_ml.warehouse.arrow import current_snapshot, row_count
from customer_ml.warehouse.progress import dbt_progress


def model(dbt, session):
    version = latest_version(dbt.ref("segmentation_model_versions"), KIND)
    if version is None:
        return ROBUSTNESS_SCHEMA.empty_table()
    if dbt.is_incremental:
        stored = session.sql(f"select model_version from {dbt.this}")
        if row_count(stored.filter(of_version(version["model_version"]))):
            return ROBUSTNESS_SCHEMA.empty_table()  # measured by an earlier build
    say = dbt_progress("segmentation")
    if "robustness_plain" in json.loads(version["metrics"]):
        # Trained before the twins had a node of their own: its versions row holds them already.
        return ROBUSTNESS_SCHEMA.empty_table()
    if not json.loads(version["config"]).get("train_twin", True):
        say(f"robustness twins: not trained for {version['model_version']} (train_twin is false)")
        return ROBUSTNESS_SCHEMA.empty_table()
    features = current_snapshot(dbt.ref("int_customers_features"))
    segmenter = load_model(version, device=dbt.config.meta_get("device"))
    row = robustness_row(segmenter, features, version, say)
    return pa.Table.from_pylist([row], schema=ROBUSTNESS_SCHEMA) if row else ROBUSTNESS_SCHEMA.empty_table()
