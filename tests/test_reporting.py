"""Plain-language segment profiles and the evaluation rows written on every build."""

from __future__ import annotations

import datetime

import numpy as np
import pyarrow as pa
import pytest

from customer_ml.segmentation import profiles
from customer_ml.segmentation.evaluation import evaluation_table, segmentation_evaluation
from customer_ml.segmentation.model import SegmentationModel
from customer_ml.segmentation.profiles import describe_segments, map_2d_table
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


def test_descriptions_do_not_depend_on_where_a_segment_s_customers_stand() -> None:
    # Customers of the three segments interleaved (each segment's values are computed from its slice of
    # the customers grouped by segment), with an unknown order count: the same profiles, "applies" included.
    table = _customers()
    frequency = table.column("frequency").to_pylist()
    frequency[25] = None
    table = table.set_column(table.schema.get_field_index("frequency"), "frequency", pa.array(frequency))
    interleaved = table.take(pa.array(np.random.default_rng(0).permutation(table.num_rows)))
    assert interleaved.column("segment_id").to_pylist() != sorted(
        interleaved.column("segment_id").to_pylist()
    )
    assert describe_segments(interleaved, CATALOG).equals(describe_segments(table, CATALOG))
    by_id = {row["segment_id"]: row for row in describe_segments(interleaved, CATALOG).to_pylist()}
    assert by_id[0]["customers"] == by_id[1]["customers"] == by_id[2]["customers"] == 10


def test_names_stay_unique_when_two_segments_stand_out_the_same_way() -> None:
    table = _customers()
    twin = table.set_column(1, "segment_id", pa.array(np.repeat([0, 1, 1], 10)))
    twin = pa.concat_tables([twin, table.set_column(1, "segment_id", pa.array(np.repeat([3, 4, 5], 10)))])
    profiles = describe_segments(twin, CATALOG).to_pylist()
    names = [row["segment_name"] for row in profiles]
    assert len(set(names)) == len(names)
    # Descriptions too: two segments that stand out the same way on every feature say which they are.
    by_id = {row["segment_id"]: row["description"] for row in profiles}
    assert len(set(by_id.values())) == len(by_id)
    assert by_id[0].endswith("(segment 0)") and by_id[3].endswith("(segment 3)")
    assert by_id[0].removesuffix(" (segment 0)") == by_id[3].removesuffix(" (segment 3)")


def test_descriptions_that_would_read_the_same_go_on_to_the_feature_that_tells_them_apart() -> None:
    table = _customers()
    # Segment 3: customers like segment 0's on orders, recency and store share, but who write to support.
    like_zero = table.filter(pa.compute.equal(table.column("segment_id"), 0))
    like_zero = like_zero.set_column(1, "segment_id", pa.array([3] * like_zero.num_rows))
    both = pa.concat_tables([table, like_zero])
    # Tickets vary within every segment alike (0 or 1); segment 3's customers write a little more often,
    # a smaller gap than its orders, recency and store share, which are segment 0's.
    tickets = np.tile([0.0, 1.0], both.num_rows // 2)
    tickets[np.flatnonzero(both.column("segment_id").to_numpy() == 3)[[0, 2]]] = 1.0
    both = both.append_column("support_tickets", pa.array(tickets))
    catalog = pa.concat_tables(
        [
            CATALOG,
            pa.table(
                {
                    "entity": ["customer"],
                    "feature_name": ["support_tickets"],
                    "feature_group": ["support"],
                    "transform": ["log"],
                    "label": ["support tickets"],
                }
            ),
        ]
    )
    rows = {row["segment_id"]: row for row in describe_segments(both, catalog).to_pylist()}
    by_id = {s: row["description"] for s, row in rows.items()}
    assert len(set(by_id.values())) == len(by_id)
    assert by_id[0].startswith(by_id[3].rsplit("; ", 1)[0])  # the first three read the same
    assert "support tickets" in by_id[3] and "(segment" not in by_id[3]
    assert by_id[3].count("; ") == 3
    # The features named are the ones the description shows.
    assert rows[3]["distinguishing_features"].split(", ")[-1] == "support_tickets"
    assert len(rows[3]["distinguishing_features"].split(", ")) == by_id[3].count("; ") + 1


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
    # Which representation the segments use, and why, with each candidate's figure.
    used = next(row for row in rows if row["metric"] == "uses_learned_representation")
    assert used["value"] == (1.0 if model.representation_ in ("embedding", "joint") else 0.0)
    for name, scores in model.metrics_["candidates"].items():
        criterion = model.metrics_["criterion"]
        assert f"{name} {scores[criterion]:.3f}" in used["note"]
        assert ("candidate_" + name, criterion) in metrics
    if model.representation_ == "features":
        assert used["note"].startswith("fell back to the scaled features")
    out = evaluation_table(rows, "segmentation-0001", datetime.date(2026, 10, 1))
    assert set(out.column("model_version").to_pylist()) == {"segmentation-0001"}
    with pytest.raises(ValueError, match="same customers"):
        segmentation_evaluation(model, table, assignments.take([1, 0]), truth)


def test_recovery_baselines_fitted_on_a_sample_still_score_every_known_customer() -> None:
    """Above baseline_fit_size the k-means baselines are fitted on a seeded sample and assign everyone;
    the learned segments' scores do not depend on it, and customers the truth does not list are left out
    (the truth lists them in another order, with text kinds)."""
    from sklearn.metrics import adjusted_rand_score

    from tests.planted import make_planted

    table, specs, kinds = make_planted(n=600, k=4, seed=2)
    model = SegmentationModel(FAST).fit(table, specs)
    assignments = model.predict(table)
    listed = np.arange(0, 600, 2)[::-1]  # every other customer, in reverse order
    truth = pa.table(
        {
            "customer_id": table.column("customer_id").take(pa.array(listed)),
            "kind": [f"kind {kinds[i]}" for i in listed],
        }
    )

    def scores(size: int | None) -> dict[tuple[str, str], float]:
        rows = segmentation_evaluation(model, table, assignments, truth, seed=1, baseline_fit_size=size)
        return {
            (row["model"], row["metric"]): row["value"]
            for row in rows
            if row["metric"] == "adjusted_rand_index"
        }

    everyone, sampled = scores(None), scores(100)
    labels = assignments.column("segment_id").to_numpy()
    expected = adjusted_rand_score(kinds[listed], labels[listed])
    assert everyone[("learned", "adjusted_rand_index")] == pytest.approx(expected, abs=1e-12)
    assert sampled[("learned", "adjusted_rand_index")] == everyone[("learned", "adjusted_rand_index")]
    assert scores(100) == sampled  # seeded
    assert ("kmeans_standardised_features", "adjusted_rand_index") in sampled
    assert all(-1.0 <= value <= 1.0 for value in sampled.values())
    assert scores(10_000) == everyone  # a sample as large as the data fits on everyone


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


def test_a_lapsed_segment_is_called_lapsed_after_its_strongest_trait() -> None:
    # Segment 1 stands out most by its store orders and its single category; its customers also stopped
    # buying a while ago (less striking, but half a standard deviation and more): the name keeps the
    # strongest trait and says "lapsed" ("In-store, lapsed", not "In-store, focused").
    catalog = pa.table(
        {
            "entity": ["customer"] * 3,
            "feature_name": ["distinct_categories", "store_order_share", "recency_days"],
            "feature_group": ["category_mix", "spend", "rfm"],
            "transform": ["scale", "passthrough", "log"],
            "label": ["categories bought", "share of orders in store", "days since last order"],
        }
    )
    table = pa.table(
        {
            "segment_id": np.repeat([0, 1, 2], 10),
            "distinct_categories": [6.0, 7.0] * 5 + [1.0] * 10 + [5.0, 8.0] * 5,
            "store_order_share": [0.1, 0.2] * 5 + [0.9] * 10 + [0.2, 0.1] * 5,
            "recency_days": [20.0, 200.0] * 5 + [150.0, 600.0] * 5 + [10.0, 90.0] * 5,
        }
    )
    names = describe_segments(table, catalog).column("segment_name").to_pylist()
    assert names[1] == "In-store, lapsed", names
    assert all("apsed" not in name for name in (names[0], names[2])), names
    profiles.LAPSED_GAP, lapsed_gap = float("inf"), profiles.LAPSED_GAP
    try:
        assert describe_segments(table, catalog).column("segment_name")[1].as_py() == "In-store, focused"
    finally:
        profiles.LAPSED_GAP = lapsed_gap


def _transactions_only_like() -> tuple[pa.Table, pa.Table]:
    # Half the customers bought once: days between orders is unknown for them. Segment 0 holds the
    # one-time buyers plus a few repeat buyers with short gaps (the trap: averaged over those few, the
    # segment would look "Regular"); segment 1 holds repeat buyers with long gaps.
    catalog = pa.table(
        {
            "entity": ["customer"] * 4,
            "feature_name": ["interpurchase_days_mean", "frequency", "recency_days", "monetary"],
            "feature_group": ["spend", "rfm", "rfm", "rfm"],
            "transform": ["log", "log", "log", "log"],
            "label": ["days between orders", "orders", "days since last order", "net spend"],
        }
    )
    gaps = [None] * 18 + [3.0, 4.0] + [150.0] * 20
    table = pa.table(
        {
            "customer_id": [f"c{i}" for i in range(40)],
            "segment_id": np.repeat([0, 1], 20),
            "interpurchase_days_mean": pa.array(gaps, pa.float64()),
            "frequency": [1.0] * 18 + [3.0, 3.0] + [4.0, 5.0] * 10,
            "recency_days": [230.0] * 20 + [60.0] * 20,
            "monetary": [20.0] * 20 + [150.0, 160.0] * 10,
        }
    )
    return table, catalog


def test_no_segment_is_named_for_a_feature_that_applies_to_fewer_than_half_of_it() -> None:
    table, catalog = _transactions_only_like()
    by_id = {row["segment_id"]: row for row in describe_segments(table, catalog).to_pylist()}
    one_time = by_id[0]
    # Days between orders sets segment 0 apart most (3-4 days against 150), yet applies to 2 of its 20.
    assert "Regular" not in one_time["segment_name"] and "Infrequent" not in one_time["segment_name"]
    assert one_time["segment_name"].split(", ")[0] in {"Occasional", "Lapsed", "Low-spending"}
    assert "days between orders" in one_time["description"]
    assert "(applies to 10% of the segment)" in one_time["description"]
    # Where a feature applies to everyone, no share is added.
    assert "applies to" not in by_id[1]["description"]


def test_every_name_rests_on_features_known_for_most_of_the_segment() -> None:
    # Property over several partitions of the fixture: a word from days between orders only appears in
    # a name when that feature is known for at least half the segment.
    table, catalog = _transactions_only_like()
    rng = np.random.default_rng(3)
    for _ in range(5):
        labels = rng.integers(0, 3, table.num_rows)
        shuffled = table.set_column(1, "segment_id", pa.array(labels))
        known = ~np.isnan(np.array(shuffled.column("interpurchase_days_mean").to_pylist(), dtype=float))
        for row in describe_segments(shuffled, catalog).to_pylist():
            share = known[labels == row["segment_id"]].mean()
            if share < 0.5:
                assert not {"Regular", "Infrequent"} & set(row["segment_name"].replace(",", "").split())


def test_one_segment_is_named_for_everyone_and_says_why() -> None:
    table = _customers()
    one = table.set_column(
        table.schema.get_field_index("segment_id"), "segment_id", pa.array([0] * table.num_rows)
    )
    few = describe_segments(one.slice(0, 20), CATALOG).to_pylist()
    assert [row["segment_name"] for row in few] == ["All customers"]
    assert few[0]["description"].startswith("All 20 customers in one segment: too few to learn segments from")
    # Enough customers to learn from, all in one segment of the applied model: no false reason.
    enough = describe_segments(one, CATALOG).to_pylist()
    assert enough[0]["description"] == (
        "All 30 customers in one segment: the applied model puts every one of them in the same segment"
    )


def test_two_levels_name_the_broad_segment_above_each_segment() -> None:
    from customer_ml.segmentation.profiles import describe_two_levels

    # Segments 0 and 2 (frequent and store buyers) share broad segment 0; the lapsed one-order customers
    # are a broad segment of their own.
    table = _customers().append_column("broad_segment_id", pa.array(np.repeat([0, 1, 0], 10)))
    out = {row["segment_id"]: row for row in describe_two_levels(table, CATALOG).to_pylist()}
    assert [out[s]["broad_segment_id"] for s in (0, 1, 2)] == [0, 1, 0]
    assert out[0]["broad_segment_name"] == out[2]["broad_segment_name"] != out[1]["broad_segment_name"]
    assert out[1]["broad_segment_name"].startswith(("Lapsed", "Occasional"))
    # The segment level is exactly describe_segments'.
    plain = describe_segments(_customers(), CATALOG).to_pylist()
    assert [row["segment_name"] for row in plain] == [out[s]["segment_name"] for s in (0, 1, 2)]
