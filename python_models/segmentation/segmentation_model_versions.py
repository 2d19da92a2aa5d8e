"""Segmentation model versions: appends a newly trained version when the retrain policy asks for one."""

import json

from customer_ml.registry import (
    RetrainPolicy,
    decide_retrain,
    empty_registry,
    latest_version,
    model_inputs,
    stored_versions,
    train_segmentation_version,
)
from customer_ml.segmentation.config import SegmentationConfig
from customer_ml.warehouse.arrow import current_snapshot, feature_catalog
from customer_ml.warehouse.progress import dbt_progress


def model(dbt, session):
    features = current_snapshot(dbt.ref("int_customers_features"))
    catalog = feature_catalog(dbt.ref("int_feature_catalog"))
    previous = latest_version(stored_versions(dbt, session), "segmentation")
    policy = RetrainPolicy.from_vars(
        dbt.config.meta_get("retrain"),
        dbt.config.meta_get("retrain_max_age_days"),
        dbt.config.meta_get("retrain_max_drift_psi"),
    )
    as_of_date = features.column("as_of_date")[0].as_py() if features.num_rows else None
    inputs = [spec.name for spec in model_inputs(catalog)]
    decision = decide_retrain(previous, as_of_date, policy, inputs, table=features)
    say = dbt_progress("segmentation")
    say(("training a new version: " if decision.retrain else "") + decision.reason)
    if not decision.retrain:
        return empty_registry()
    overrides = json.loads(dbt.config.meta_get("segmentation_config"))
    config = SegmentationConfig.from_dict(
        {**overrides, "seed": int(dbt.config.meta_get("seed")), "device": dbt.config.meta_get("device")}
    )
    return train_segmentation_version(features, catalog, previous, config, as_of_date, decision.reason, say)
