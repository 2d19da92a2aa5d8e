"""The warehouse model registry: drift, the retrain decision, and versions that apply identically."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import torch

from customer_ml.features.preprocessing import FeatureSpec
from customer_ml.registry import (
    REGISTRY_SCHEMA,
    RetrainPolicy,
    decide_retrain,
    feature_profile,
    latest_version,
    model_inputs,
    population_stability,
)
from customer_ml.segmentation.config import AutoencoderConfig, ClusteringConfig, DECConfig, SegmentationConfig
from customer_ml.segmentation.versions import config_change, load_model, train_version
from tests.planted import make_planted

AS_OF = dt.date(2026, 10, 1)
FAST = SegmentationConfig(
    seed=3,
    train_twin=False,
    autoencoder=AutoencoderConfig(max_epochs=8, patience=3),
    dec=DECConfig(max_epochs=4),
    clustering=ClusteringConfig(k_min=4, k_max=6, n_init=2),
)


@pytest.fixture(scope="module")
def planted():
    table, specs, _kinds = make_planted(n=900, k=5, seed=4)
    catalog = [{"feature_name": s.name, "feature_group": s.group, "transform": s.transform} for s in specs]
    return table, catalog


@pytest.fixture(scope="module")
def first_version(planted):
    table, catalog = planted
    return train_version(table, catalog, None, FAST, AS_OF, "no stored model")


def test_model_inputs_keep_one_entity_and_drop_excluded() -> None:
    catalog = pa.table(
        {
            "entity": ["customer", "customer", "transaction"],
            "feature_name": ["recency_days", "gender", "amount"],
            "feature_group": ["rfm", "attributes", "risk"],
            "transform": ["log", "exclude", "log"],
        }
    )
    assert [spec.name for spec in model_inputs(catalog)] == ["recency_days"]


def test_population_stability_is_zero_on_the_same_data_and_large_after_a_shift() -> None:
    rng = np.random.default_rng(0)
    base = pa.table({"x": rng.lognormal(size=5000), "c": rng.choice(["a", "b"], size=5000)})
    specs = [FeatureSpec("x", "g", "log"), FeatureSpec("c", "g", "onehot")]
    profile = feature_profile(base, specs)
    same = population_stability(profile, base)
    assert same == {"x": 0.0, "c": 0.0}
    shifted = pa.table({"x": rng.lognormal(mean=1.0, size=5000), "c": ["a"] * 5000})
    drift = population_stability(profile, shifted)
    assert drift["x"] > 0.2 and drift["c"] > 0.2


def test_psi_matches_a_hand_computed_value() -> None:
    # Two bins plus the null bin: training shares (0.5, 0.5, 0), new shares (0.8, 0.2, 0).
    profile = {"x": {"kind": "numeric", "edges": [1.0], "shares": [0.5, 0.5, 0.0]}}
    table = pa.table({"x": [0.0] * 8 + [2.0] * 2})
    expected = (0.8 - 0.5) * np.log(0.8 / 0.5) + (0.2 - 0.5) * np.log(0.2 / 0.5)
    assert population_stability(profile, table)["x"] == pytest.approx(expected, abs=1e-6)


def _names(specs) -> list[str]:
    return [spec.name for spec in specs]


def test_few_customers_train_and_none_stop_with_a_clear_message(planted) -> None:
    table, catalog = planted
    # A handful of customers trains a version (one segment, see test_model); none at all stops.
    decision = decide_retrain(
        None, AS_OF, RetrainPolicy(), _names(model_inputs(catalog)), table=table.slice(0, 5)
    )
    assert decision.retrain
    with pytest.raises(RuntimeError, match="no customer has a transaction before the as-of date"):
        decide_retrain(None, AS_OF, RetrainPolicy(), _names(model_inputs(catalog)), table=table.slice(0, 0))


def test_first_build_trains_and_never_refuses(planted) -> None:
    table, catalog = planted
    decision = decide_retrain(None, AS_OF, RetrainPolicy(), _names(model_inputs(catalog)), table=table)
    assert decision.retrain and decision.reason == "no stored model"
    with pytest.raises(RuntimeError, match="retrain is 'never'"):
        decide_retrain(None, AS_OF, RetrainPolicy("never"), _names(model_inputs(catalog)), table=table)
    with pytest.raises(ValueError):
        RetrainPolicy("sometimes")


def test_stored_model_is_applied_until_age_drift_or_features_change(planted, first_version) -> None:
    table, catalog = planted
    previous = latest_version(first_version, "segmentation")
    specs = model_inputs(catalog)
    same = decide_retrain(previous, AS_OF, RetrainPolicy(), _names(specs), table=table)
    assert not same.retrain and "stored model applied" in same.reason
    assert decide_retrain(previous, AS_OF, RetrainPolicy("always"), _names(specs), table=table).retrain
    old = decide_retrain(previous, AS_OF + dt.timedelta(days=91), RetrainPolicy(), _names(specs), table=table)
    assert old.retrain and "days old" in old.reason
    fewer = decide_retrain(previous, AS_OF, RetrainPolicy(), _names(specs[:-1]), table=table)
    assert fewer.retrain and "feature set changed" in fewer.reason
    name = specs[0].name
    column = pc.multiply(pc.cast(table.column(name), pa.float64()), 50.0)
    drifted = table.set_column(table.column_names.index(name), name, column)
    moved = decide_retrain(previous, AS_OF, RetrainPolicy(), _names(specs), table=drifted)
    assert moved.retrain and "feature drift" in moved.reason and name in moved.reason


def test_version_row_holds_everything_needed_to_apply(planted, first_version) -> None:
    table, _catalog = planted
    assert first_version.schema == REGISTRY_SCHEMA
    row = first_version.to_pylist()[0]
    assert row["model_version"] == "segmentation-0001" and row["parent_version"] is None
    assert json.loads(row["metrics"])["n_segments"] >= 2
    assert len(row["weights"]) > 1000
    model = load_model(row)
    first, second = model.predict(table), load_model(row).predict(table)
    assert first.equals(second)


def test_a_retrain_records_its_parent_and_keeps_ids(planted, first_version) -> None:
    table, catalog = planted
    previous = latest_version(first_version, "segmentation")
    config = dataclasses.replace(FAST, seed=11)
    second = train_version(table, catalog, previous, config, AS_OF, "retrain is 'always'")
    row = second.to_pylist()[0]
    assert row["model_version"] == "segmentation-0002" and row["parent_version"] == "segmentation-0001"
    before = load_model(previous).predict(table).column("segment_id").to_numpy()
    after = load_model(row).predict(table).column("segment_id").to_numpy()
    # Same data, another seed: groups that stay together (80% of the old group in one new segment that
    # is 80% made of it) keep their id through Hungarian matching, whatever the new clustering numbered.
    pairs = Counter(zip(before.tolist(), after.tolist(), strict=True))
    old_sizes, new_sizes = Counter(before.tolist()), Counter(after.tolist())
    unchanged = [(b, a) for (b, a), n in pairs.items() if n >= 0.8 * old_sizes[b] and n >= 0.8 * new_sizes[a]]
    assert unchanged, pairs
    assert all(b == a for b, a in unchanged), (unchanged, pairs)
    both = pa.concat_tables([first_version, second])
    assert latest_version(both, "segmentation")["version_number"] == 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="the case is a machine without the stored device")
def test_a_version_trained_on_a_gpu_retrains_and_applies_on_a_cpu_machine(planted, first_version) -> None:
    # A version fitted where `device: cuda` was set keeps that in its config; a CPU build with `auto`
    # must still load it, both to apply it and as the parent whose segment ids a retrain keeps.
    table, catalog = planted
    previous = latest_version(first_version, "segmentation")
    on_gpu = previous | {"config": json.dumps(json.loads(previous["config"]) | {"device": "cuda"})}
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        load_model(on_gpu)
    applied = load_model(on_gpu, device="auto").predict(table)
    assert applied.equals(load_model(previous).predict(table))
    second = train_version(table, catalog, on_gpu, FAST, AS_OF, "retrain is 'always'")
    assert second.to_pylist()[0]["parent_version"] == "segmentation-0001"


def test_a_changed_segmentation_config_or_seed_retrains_and_says_what(planted, first_version) -> None:
    """The var segmentation_config and the seed shape the model: a build that changes them trains a new
    version (the decision says what changed); how it runs (device, threads, batch size) does not."""
    table, catalog = planted
    previous = latest_version(first_version, "segmentation")
    assert config_change(previous, FAST) is None
    runs_else = dataclasses.replace(FAST, device="cpu", cpu_threads=2, predict_batch_size=1000)
    assert config_change(previous, runs_else) is None
    fixed_k = dataclasses.replace(FAST, n_segments=4)
    assert config_change(previous, fixed_k) == "configuration changed: n_segments None -> 4"
    epochs = dataclasses.replace(
        FAST, seed=4, autoencoder=dataclasses.replace(FAST.autoencoder, max_epochs=9)
    )
    assert (
        config_change(previous, epochs) == "configuration changed: autoencoder.max_epochs 8 -> 9, seed 3 -> 4"
    )
    specs = _names(model_inputs(catalog))
    change = config_change(previous, fixed_k)
    decision = decide_retrain(previous, AS_OF, RetrainPolicy(), specs, table=table, config_change=change)
    assert decision.retrain and decision.reason == change
    unreadable = {**previous, "config": json.dumps({"no_such_setting": 1})}
    assert "no longer reads" in config_change(unreadable, FAST)
