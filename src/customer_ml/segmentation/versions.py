"""Segmentation model versions in the registry: train a model into one registry row, and load it back."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from customer_ml.registry import feature_profile, model_inputs, version_row
from customer_ml.segmentation.config import SegmentationConfig
from customer_ml.segmentation.model import SegmentationModel

__all__ = ["KIND", "config_change", "load_model", "train_version"]

KIND = "segmentation"

# Settings that say how a model runs, not what it learns: changing one is no reason to train again.
RUNTIME_SETTINGS = ("device", "cpu_threads", "pretrain_processes", "predict_batch_size")


def _flat(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def config_change(stored: dict[str, Any], config: SegmentationConfig) -> str | None:
    """What `config` (the build's var segmentation_config and seed) changes against a stored version's
    configuration, in words, or None when nothing that shapes the model differs (a stored configuration
    is read back with the current defaults for the settings it does not name)."""
    try:
        have = _flat(SegmentationConfig.from_dict(json.loads(stored["config"])).to_dict())
    except (ValueError, TypeError) as exc:
        return f"configuration changed (the stored one no longer reads: {exc})"
    want = _flat(config.to_dict())
    changed = sorted(
        key
        for key in have.keys() | want.keys()
        if key.split(".")[0] not in RUNTIME_SETTINGS and have.get(key) != want.get(key)
    )
    if not changed:
        return None
    return "configuration changed: " + ", ".join(f"{k} {have.get(k)!r} -> {want.get(k)!r}" for k in changed)


def train_version(
    table: pa.Table,
    catalog: Any,
    previous: dict[str, Any] | None,
    config: SegmentationConfig,
    as_of_date: dt.date,
    reason: str,
    progress: Callable[[str], None] | None = None,
) -> pa.Table:
    """Fit a new segmentation version on `table` and return its registry row (segment ids kept from the
    previous version where a segment is still the same group)."""
    specs = model_inputs(catalog)
    preferred_k = None if previous is None else json.loads(previous["metrics"]).get("n_segments")
    model = SegmentationModel(config).fit(table, specs, progress, preferred_k=preferred_k)
    # The robustness twins (config.train_twin) are trained by segmentation_model_robustness, beside the
    # nodes that apply this version rather than before them.
    if previous is not None:
        parent = load_model(previous, device=config.device)  # not the device it was trained on
        mapping = model.align_to(parent)
        if progress:
            progress(f"segment ids matched to {previous['model_version']}: {mapping}")
    record = model.to_record()
    return version_row(
        KIND,
        previous,
        as_of_date=as_of_date,
        training_rows=table.num_rows,
        reason=reason,
        config=record["config"],
        feature_names=[spec.name for spec in specs],
        preprocessing=record["preprocessing"],
        feature_profile=feature_profile(table, specs),
        metrics=record["metrics"],
        weights=record["weights"],
    )


def load_model(row: dict[str, Any], device: str | None = None) -> SegmentationModel:
    """The fitted model of a registry row, ready to apply."""
    preprocessing = json.loads(row["preprocessing"])
    return SegmentationModel.from_record(
        {
            "config": json.loads(row["config"]),
            "feature_names": preprocessing["feature_names_out"],
            "preprocessing": preprocessing,
            "metrics": json.loads(row["metrics"]),
            "weights": row["weights"],
        },
        device=device,
    )
