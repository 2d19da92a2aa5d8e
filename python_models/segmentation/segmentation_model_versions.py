"""Segmentation model versions: appends a newly trained version when the registry's retrain decision
says so (no model, changed inputs or configuration, feature drift, age, or when asked to)."""

import json

from customer_ml.registry import RetrainPolicy, empty_registry, model_inputs, retrain_step
from customer_ml.segmentation.config import SegmentationConfig
from customer_ml.segmentation.versions import KIND, config_change, train_version
from customer_ml.warehouse.arrow import current_snapshot, feature_catalog


def model(dbt, session):
    features = current_snapshot(dbt.ref("int_customers_features"))
    catalog = feature_catalog(dbt.ref("int_feature_catalog"))
    policy = RetrainPolicy.from_vars(
        dbt.config.meta_get("retrain"),
        dbt.config.meta_get("retrain_max_age_days"),
        dbt.config.meta_get("retrain_max_drift_psi"),
    )
    as_of_date = features.column("as_of_date")[0].as_py() if features.num_rows else None
    inputs = [spec.name for spec in model_inputs(catalog)]
    overrides = json.loads(dbt.config.meta_get("segmentation_config"))
    config = SegmentationConfig.from_dict(
        {**overrides, "seed": int(dbt.config.meta_get("seed")), "device": dbt.config.meta_get("device")}
    )
    previous, decision, say = retrain_step(
        dbt,
        session,
        KIND,
        as_of_date,
        policy,
        inputs,
        table=features,
        config_change=lambda stored: config_change(stored, config),
    )
    if not decision.retrain:
        return empty_registry()
    return train_version(features, catalog, previous, config, as_of_date, decision.reason, say)
