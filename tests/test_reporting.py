"""Plain-language segment profiles and the evaluation rows written on every build."""

from __future__ import annotations

import datetime

import numpy as np
import pyarrow as pa
import pytest

from segmentation.evaluation import evaluation_table, segmentation_evaluation
from segmentation.model import SegmentationModel
from segmentation.reporting import describe_segments, map_2d_table
from tests.test_registry import FAST

CATALOG = pa.table(
    {
        "entity": ["customer"] * 4,
        "feature_name": ["frequency", "recency_days", "store_order_share", "gender"],
        "feature_group": ["rfm", "rfm", "spend", "attributes"],
        "transform": ["log", "log", "passthrough", "exclude"],
        "label": ["orders", "days since last order", "share of orders in store", "gender"],
    }
)


def _customers() -> pa.Table:
    # Segment 0: frequent, recent buyers; segment 1: lapsed one-order customers; segment 2: store shoppers.
    frequency = [20.0] * 10 + [1.0] * 10 + [5.0] * 10
    recency = [5.0] * 10 + [300.0] * 10 + [40.0] * 10
    store = [0.1] * 10 + [0.0] * 10 + [0.9] * 10
    return pa.table(
        {
            "customer_id": [f"c{i}" for i in range(30)],
            "segment_id": np.repeat([0, 1, 2], 10),
            "frequency": frequency,
            "recency_days": recency,
            "store_order_share": store,
            "gender": ["x"] * 30,
        }
    )


def test_descriptions_state_what_sets_each_segment_apart_with_numbers() -> None:
    profiles = describe_segments(_customers(), CATALOG).to_pylist()
    by_id = {row["segment_id"]: row for row in profiles}
    assert by_id[0]["description"].startswith("orders 2.3 times the average (20 against 8.67)")
    assert "days since last order" in by_id[1]["description"]
    assert "share of orders in store 90% against 33% overall" in by_id[2]["description"]
    assert by_id[0]["customers"] == 10
    names = [row["segment_name"] for row in profiles]
    assert len(set(names)) == 3 and all(names)
    assert by_id[1]["segment_name"].startswith("Lapsed") or by_id[1]["segment_name"].startswith("Occasional")
    assert all("gender" not in row["description"] for row in profiles)


def test_names_stay_unique_when_two_segments_stand_out_the_same_way() -> None:
    table = _customers()
    twin = table.set_column(1, "segment_id", pa.array(np.repeat([0, 1, 1], 10)))
    twin = pa.concat_tables([twin, table.set_column(1, "segment_id", pa.array(np.repeat([3, 4, 5], 10)))])
    names = [row["segment_name"] for row in describe_segments(twin, CATALOG).to_pylist()]
    assert len(set(names)) == len(names)


def test_evaluation_rows_name_the_version_and_include_recovery_against_baselines() -> None:
    from tests.planted import make_planted

    table, specs, kinds = make_planted(n=600, k=4, seed=2)
    model = SegmentationModel(FAST).fit(table, specs)
    assignments = model.predict(table)
    truth = pa.table({"customer_id": table.column("customer_id"), "kind": [str(k) for k in kinds]})
    rows = segmentation_evaluation(model, table, assignments, truth, seed=1, sample_size=400)
    metrics = {(row["model"], row["metric"]) for row in rows}
    assert {("learned", "silhouette"), ("learned", "davies_bouldin"), ("learned", "segments")} <= metrics
    assert ("kmeans_standardised_features", "adjusted_rand_index") in metrics
    out = evaluation_table(rows, "segmentation-0001", datetime.date(2026, 10, 1))
    assert set(out.column("model_version").to_pylist()) == {"segmentation-0001"}
    with pytest.raises(ValueError, match="same customers"):
        segmentation_evaluation(model, table, assignments.take([1, 0]), truth)


def test_map_has_pca_for_everyone_and_tsne_for_the_sample() -> None:
    rng = np.random.default_rng(0)
    assignments = pa.table(
        {
            "customer_id": [f"c{i}" for i in range(60)],
            "segment_id": rng.integers(0, 3, 60),
            "embedding_0": rng.normal(size=60),
            "embedding_1": rng.normal(size=60),
            "embedding_10": rng.normal(size=60),
        }
    )
    out = map_2d_table(assignments, tsne_sample_size=20, seed=1)
    assert out.num_rows == 60 and out.column("pca_x").null_count == 0
    assert sum(out.column("is_in_tsne_sample").to_pylist()) == 20
    assert out.column("tsne_x").null_count == 40


def test_a_name_says_one_thing_once() -> None:
    # Days since first order and since sign-up both set the new customers apart: "New" once, then the
    # next thing that sets them apart.
    catalog = pa.table(
        {
            "entity": ["customer"] * 3,
            "feature_name": ["tenure_days", "signup_tenure_days", "sessions"],
            "feature_group": ["rfm", "attributes", "behaviour"],
            "transform": ["log", "log", "log"],
            "label": ["days since first order", "days since sign-up", "sessions"],
        }
    )
    table = pa.table(
        {
            "segment_id": np.repeat([0, 1], 10),
            "tenure_days": [10.0] * 10 + [900.0] * 10,
            "signup_tenure_days": [12.0] * 10 + [1000.0] * 10,
            "sessions": [9.0, 3.0] * 5 + [2.0, 1.0] * 5,  # sets them apart less than tenure does
        }
    )
    names = describe_segments(table, catalog).column("segment_name").to_pylist()
    assert names == ["New, browsing", "Long-standing, quiet"]
