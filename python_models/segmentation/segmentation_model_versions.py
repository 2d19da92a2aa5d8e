"""Segmentation model versions: appends a newly trained version when the retrain policy asks for one."""

import json

from customer_ml.registry import (
    RetrainPolicy,
    decide_retrain,
    empty_registry,
    latest_version,
    model_inputs,
    train_segmentation_version,
)
from customer_ml.segmentation.config import SegmentationConfig
from customer_ml.warehouse.arrow import current_snapshot, feature_catalog, to_arrow
from customer_ml.warehouse.progress import dbt_progress


def model(dbt, session):
    features = current_snapshot(dbt.ref("int_customers_features"))
    catalog = feature_catalog(dbt.ref("int_feature_catalog"))
    stored = to_arrow(session.sql(f"select * from {dbt.this}")) if dbt.is_incremental else None
    previous = latest_version(stored, "segmentation")
    policy = RetrainPolicy(
        dbt.config.meta_get("retrain"),
        int(dbt.config.meta_get("retrain_max_age_days")),
        float(dbt.config.meta_get("retrain_max_drift_psi")),
    )
    as_of_date = features.column("as_of_date")[0].as_py() if features.num_rows else None
    decision = decide_retrain(previous, features, model_inputs(catalog), as_of_date, policy)
    say = dbt_progress("segmentation")
    say(("training a new version: " if decision.retrain else "") + decision.reason)
    if not decision.retrain:
        return empty_registry()
    overrides = json.loads(dbt.config.meta_get("segmentation_config"))
    config = SegmentationConfig.from_dict(
        {**overrides, "seed": int(dbt.config.meta_get("seed")), "device": dbt.config.meta_get("device")}
    )
    return train_segmentation_version(features, catalog, previous, config, as_of_date, decision.reason, say)
