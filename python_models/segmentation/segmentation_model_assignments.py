"""Applies the latest segmentation version to the current features: it never trains."""

import pyarrow as pa

from customer_ml.registry import latest_version, load_segmentation_model
from customer_ml.warehouse.arrow import current_snapshot


def model(dbt, session):
    version = latest_version(dbt.ref("segmentation_model_versions"), "segmentation")
    features = current_snapshot(dbt.ref("int_customers_features"))
    assignments = load_segmentation_model(version, device=dbt.config.meta_get("device")).predict(features)
    return assignments.append_column(
        "model_version", pa.array([version["model_version"]] * assignments.num_rows, pa.string())
    )
