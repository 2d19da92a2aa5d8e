"""Applies the latest segmentation version to the current features: it never trains."""

import pyarrow as pa

from customer_ml.registry import latest_version
from customer_ml.segmentation.versions import KIND, load_model
from customer_ml.warehouse.arrow import current_snapshot
from customer_ml.warehouse.progress import dbt_progress


def model(dbt, session):
    version = latest_version(dbt.ref("segmentation_model_versions"), KIND)
    features = current_snapshot(dbt.ref("int_customers_features"))
    segmenter = load_model(version, device=dbt.config.meta_get("device"))
    assignments = segmenter.predict(features, dbt_progress("segmentation"))
    return assignments.append_column(
        "model_version", pa.array([version["model_version"]] * assignments.num_rows, pa.string())
    )
