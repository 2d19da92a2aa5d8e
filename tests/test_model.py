import json
import re

import numpy as np
import pyarrow as pa
import pytest
import torch
from planted import make_planted
from sklearn.cluster import KMeans
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score

from customer_ml.segmentation.config import (
    AutoencoderConfig,
    ClusteringConfig,
    DECConfig,
    SegmentationConfig,
    SelectionConfig,
)
from customer_ml.segmentation.evaluation import robustness_twins
from customer_ml.segmentation.model import SegmentationModel, map_2d

# k fixed at the planted 6 (k selection is tested in test_clustering); fewer bootstrap rounds for speed
CONFIG = SegmentationConfig(
    seed=3,
    clustering=ClusteringConfig(k_min=6, k_max=6),
    selection=SelectionConfig(n_bootstrap=3),
    robustness_sample_size=1500,
)


@pytest.fixture(scope="module")
def planted():
    return make_planted(n=2400, seed=0)


@pytest.fixture(scope="module")
def fitted(planted):
    table, catalog, _ = planted
    lines: list[str] = []
    model = SegmentationModel(CONFIG).fit(table, catalog, progress=lines.append)
    return model, lines


def test_predict_output_schema(planted, fitted):
    table, _, _ = planted
    model, lines = fitted
    out = model.predict(table)
    d = CONFIG.autoencoder.embedding_dim
    assert out.column_names == [
        "customer_id",
        "segment_id",
        "broad_segment_id",
        "segment_probability",
        "distance_to_centroid",
        "anomaly_score",
        *[f"embedding_{j}" for j in range(d)],
        "top_features",
    ]
    assert out.num_rows == table.num_rows
    assert out.column("customer_id").equals(table.column("customer_id"))
    assert out.schema.field("segment_id").type == pa.int64()
    # Six segments under four broad ones; a broad segment's id is its smallest member segment's id.
    seg, broad = out.column("segment_id").to_pylist(), out.column("broad_segment_id").to_pylist()
    pairs = set(zip(seg, broad, strict=True))
    assert len(pairs) == 6 and len({b for _s, b in pairs}) == CONFIG.n_broad_segments
    assert all(b <= s_ for s_, b in pairs) and all((b, b) in pairs for _s, b in pairs)
    seg = out.column("segment_id").to_numpy()
    assert set(seg) == set(range(6))
    prob = out.column("segment_probability").to_numpy()
    assert np.all((prob > 1.0 / 6) & (prob <= 1.0))
    assert np.all(out.column("distance_to_centroid").to_numpy() >= 0)
    anomaly = out.column("anomaly_score").to_numpy()
    assert anomaly.min() >= 0 and anomaly.max() <= 1 and 0.4 < np.median(anomaly) < 0.6
    # Reasons in words: "many orders; low net spend", never a column name.
    pattern = re.compile(r"^[^;_=]+(; [^;_=]+){0,2}$")
    tops = out.column("top_features").to_pylist()
    assert np.mean([bool(pattern.match(t)) for t in tops]) > 0.95
    assert np.mean([t.count(";") == 2 for t in tops]) > 0.8
    words = ("few ", "many ", "low ", "high ", "no ")
    parts = [part for t in tops for part in t.split("; ") if part]
    assert all(
        part.startswith(words) or part.startswith("channel ") or part.endswith(" recorded") for part in parts
    )
    assert not any(name in t for t in tops for name in fitted[0].feature_names_ if "_" in name)
    assert any(line.startswith("autoencoder epoch 1:") for line in lines)
    assert any(line.startswith("representation:") for line in lines)


def test_recovery_matches_or_beats_kmeans_on_scaled_features(planted, fitted):
    table, _, kinds = planted
    model, _ = fitted
    X = model.preprocessor_.transform(table)
    baseline = adjusted_rand_score(kinds, KMeans(6, n_init=10, random_state=0).fit_predict(X))
    ari = adjusted_rand_score(kinds, model.predict(table).column("segment_id").to_numpy())
    print(f"ARI model={ari:.3f} ({model.representation_}) kmeans on scaled features={baseline:.3f}")
    assert ari >= baseline - 0.02


def test_selection_criterion_tracks_recovery(planted, fitted):
    table, _, kinds = planted
    model, _ = fitted
    names = list(CONFIG.selection.candidates)
    crit = {n: model.metrics_["candidates"][n][CONFIG.selection.criterion] for n in names}
    aris = {n: adjusted_rand_score(kinds, labels) for n, labels in model.candidate_labels_.items()}
    print("candidates (criterion, ARI)", {n: (round(crit[n], 3), round(aris[n], 3)) for n in names})
    # The candidate with the best cross-space score is built on, and the reason names it with the figures.
    assert model.representation_ == max(names, key=lambda n: crit[n])
    reason = model.metrics_["representation_reason"]
    expected = "fell back" if model.representation_ == "features" else f"built on the {model.representation_}"
    assert reason.startswith(expected)
    assert all(f"{n} {crit[n]:.3f}" in reason for n in names)
    # On this Gaussian-latent fixture the contrastive embedding alone spreads the groups over the sphere
    # (its segments recover least); the criterion sees that in the other candidates' spaces and avoids it.
    assert aris[model.representation_] > aris["embedding"] + 0.05
    for scores in model.metrics_["candidates"].values():
        assert {"stability", "silhouette", "silhouette_features", "cross_space"} <= set(scores)
        assert 0.0 <= scores["cross_space"] <= 1.0
    assert max(model.metrics_["candidates"][n]["cross_space"] for n in names) <= 1.0


def test_adversarial_training_lowers_segment_flips(planted, fitted):
    table, _, _ = planted
    model, _ = fitted
    assert "robustness_plain" not in model.metrics_  # the twins are evaluation, outside fit
    m = {**model.metrics_, **robustness_twins(model, table)}
    # Its twin saw every training row: the deployed encoder is the like-for-like one.
    assert "robustness_adversarial_twin" not in m
    print(f"robustness adversarial={m['robustness_adversarial']:.3f} plain={m['robustness_plain']:.3f}")
    assert m["robustness_adversarial"] < m["robustness_plain"]
    assert model.robustness(table.slice(0, 500), epsilon=0.0) == 0.0
    big = model.robustness(table.slice(0, 500), epsilon=0.5)
    assert 0.0 < big <= 1.0 and big >= model.robustness(table.slice(0, 500), epsilon=0.05)


def test_record_round_trip_predicts_identically(planted, fitted):
    table, _, _ = planted
    model, _ = fitted
    record = model.to_record()
    assert isinstance(record["weights"], bytes)
    text = json.dumps({k: v for k, v in record.items() if k != "weights"})
    restored_record = {**json.loads(text), "weights": record["weights"]}
    restored = SegmentationModel.from_record(restored_record)
    first, second = restored.predict(table), restored.predict(table)
    assert first.equals(second)
    assert first.equals(model.predict(table))
    assert restored.metrics_["representation"] == model.representation_
    assert restored_record["feature_names"] == model.preprocessor_.feature_names_out_


def test_align_to_keeps_ids_of_previous_version(planted, fitted):
    table, _, _ = planted
    model, _ = fitted
    other = SegmentationModel.from_record(model.to_record())
    other.segment_ids_ = np.array([5, 3, 1, 0, 2, 4])
    mapping = other.align_to(model)
    np.testing.assert_array_equal(other.segment_ids_, model.segment_ids_)
    assert mapping == {5: 0, 3: 1, 1: 2, 0: 3, 2: 4, 4: 5}
    assert other.predict(table).equals(model.predict(table))
    # against bare centroids: reversed order gives reversed ids
    third = SegmentationModel.from_record(model.to_record())
    third.align_to(model.segment_centroids_[::-1])
    np.testing.assert_array_equal(third.segment_ids_, np.arange(6)[::-1])


def test_small_fit_is_deterministic_and_chooses_k(planted):
    table, catalog, _ = planted
    small = table.slice(0, 600)
    cfg = SegmentationConfig(
        seed=1,
        autoencoder=AutoencoderConfig(hidden=(16,), embedding_dim=4, max_epochs=4),
        dec=DECConfig(max_epochs=2),
        clustering=ClusteringConfig(k_min=3, k_max=5, sample_size=600, n_init=3),
        train_twin=False,
        train_sample_size=500,
    )
    # The fit neither reads nor moves torch's process-wide generator (dbt runs fits side by side).
    torch.manual_seed(5)
    watched = torch.get_rng_state()
    a = SegmentationModel(cfg).fit(small, catalog)
    assert torch.equal(torch.get_rng_state(), watched)
    torch.manual_seed(6)
    b = SegmentationModel(cfg).fit(small, catalog)
    assert a.to_record()["weights"] == b.to_record()["weights"]
    assert a.predict(small).equals(b.predict(small))
    assert a.metrics_["n_train_rows"] == 500
    assert [r["k"] for r in a.metrics_["k_selection"]] == [3, 4, 5]
    assert a.n_segments_ in (3, 4, 5) and "robustness_plain" not in a.metrics_


def test_not_fitted_and_map_2d(planted, fitted):
    table, catalog, _ = planted
    with pytest.raises(NotFittedError):
        SegmentationModel().predict(table)
    with pytest.raises(NotFittedError):
        SegmentationModel().to_record()
    model, _ = fitted
    emb = model.transform(table)
    x, y = map_2d(emb, "pca", sample_size=400, seed=0)
    assert x.shape == y.shape == (400,)
    x, y, idx = map_2d(emb, "tsne", sample_size=120, seed=0, return_index=True)
    assert x.shape == (120,) and len(np.unique(idx)) == 120
    # The gradient steps are the caller's (var tsne_iterations): more steps, another layout of the same
    # sample; fewer than early exaggeration's 250 are refused with the reason.
    x_long, _, idx_long = map_2d(
        emb, "tsne", sample_size=120, seed=0, return_index=True, tsne_iterations=1000
    )
    assert np.array_equal(idx, idx_long) and not np.array_equal(x, x_long)
    with pytest.raises(ValueError, match="at least 250"):
        map_2d(emb, "tsne", sample_size=120, seed=0, tsne_iterations=100)
    with pytest.raises(ValueError):
        map_2d(emb, "umap")


def test_input_weights_standardise_columns_and_share_blocks():
    from customer_ml.segmentation.model import input_weights

    rng = np.random.default_rng(0)
    X = np.column_stack(
        [rng.normal(0, 4, 500), rng.normal(0, 0.1, 500), np.eye(4)[rng.integers(0, 4, 500)], np.ones(500)]
    ).astype(np.float32)
    sources = ["a", "b", "c", "c", "c", "c", "d"]
    assert np.all(input_weights(X, sources, "none") == 1.0)
    w = input_weights(X, sources, "standardise")
    assert np.allclose((X * w)[:, :6].std(axis=0), 1.0, atol=1e-4) and w[6] == 1.0
    wb = input_weights(X, sources, "standardise_blocks")
    assert np.allclose(((X * wb)[:, 2:6].std(axis=0) ** 2).sum(), 1.0, atol=1e-4)
    assert np.allclose(wb[:2], w[:2])
    with pytest.raises(ValueError):
        input_weights(X, sources, "bogus")


def _phrases_row_by_row(words, order, above, kept):
    """The reasons as they were written before phrase_lists: each row's phrases joined in a Python loop."""
    out = []
    for i in range(len(order)):
        seen: list[str] = []
        for j in range(order.shape[1]):
            part = words[order[i, j]][above[i, j]] if kept[i, j] else ""
            if part and part not in seen:
                seen.append(part)
        out.append("; ".join(seen) or None)
    return out


@pytest.mark.parametrize("k", [1, 3, 9])
def test_largest_columns_and_phrase_lists_equal_the_sort_and_the_row_by_row_join(k):
    from customer_ml.segmentation.model import largest_columns, phrase_lists

    rng = np.random.default_rng(k)
    # Few distinct values, so rows hold ties (the lower column first, as a stable sort puts them), and
    # signed zeros, which compare equal.
    values = rng.integers(-3, 4, size=(3000, 12)).astype(np.float64)
    values[rng.random(values.shape) < 0.05] = -0.0
    reference = np.argsort(-values, axis=1, kind="stable")[:, :k]
    order = largest_columns(values, k)
    assert order.shape == (3000, k) and np.array_equal(order, reference)
    # Not finite: the sort's own order (NaN last), whatever argmax would do.
    odd = values.copy()
    odd[0, 2], odd[1, 5], odd[2, 7] = np.nan, np.inf, -np.inf
    assert np.array_equal(largest_columns(odd, k), np.argsort(-odd, axis=1, kind="stable")[:, :k])

    # Columns sharing a phrase (a one-hot feature's columns, a feature and its indicator), rows with nothing
    # kept; then 120 phrases, where k = 9 codes of a row no longer fit one integer (121**9 > 2**62) and the
    # rows are grouped as rows.
    words = [
        (f"low {c % 5}", f"high {c % 4}") if c < 8 else ("country not DE", "country DE") for c in range(12)
    ]
    above = rng.integers(0, 2, size=order.shape)
    kept = np.take_along_axis(values, order, axis=1) > 0
    kept[:50] = False
    got = phrase_lists(words, order, above, kept)
    assert got.type == pa.string()
    assert got.to_pylist() == _phrases_row_by_row(words, order, above, kept)
    assert got.null_count >= 50
    many = [(f"low {c}", f"high {c}") for c in range(60)]
    assert 121**9 > 2**62
    wide = largest_columns(rng.normal(size=(500, 60)), k)
    flags = rng.integers(0, 2, size=wide.shape)
    keep = np.ones(wide.shape, dtype=bool)
    assert phrase_lists(many, wide, flags, keep).to_pylist() == _phrases_row_by_row(many, wide, flags, keep)


def test_inputs_apply_the_stored_weights(planted, fitted):
    table, _, _ = planted
    model, _ = fitted
    assert model.input_weights_.shape == (len(model.feature_names_),)
    np.testing.assert_allclose(
        model.inputs(table), model.preprocessor_.transform(table) * model.input_weights_, rtol=1e-6
    )
    restored = SegmentationModel.from_record(model.to_record())
    np.testing.assert_array_equal(restored.input_weights_, model.input_weights_)


def test_twins_on_a_sample_compare_like_for_like(planted, fitted):
    # When the plain twin sees only a sample, an adversarial twin on the same rows is measured too (the
    # adversarial term lowering flips is asserted on the demo data, tests/e2e/test_segmentation.py).
    table, catalog, _ = planted
    cfg = SegmentationConfig(
        seed=3,
        clustering=ClusteringConfig(k_min=6, k_max=6),
        selection=SelectionConfig(candidates=("features",), n_bootstrap=1),
        robustness_sample_size=1000,
        twin_sample_size=1200,
    )
    model = SegmentationModel(cfg).fit(table, catalog)
    m = {**model.metrics_, **robustness_twins(model, table)}
    assert 0.0 <= m["robustness_adversarial_twin"] <= 1.0 and 0.0 <= m["robustness_plain"] <= 1.0
    assert m["robustness_adversarial_twin"] != m["robustness_adversarial"]


def test_n_segments_fixes_k_and_stored_configs_with_retired_keys_still_load(planted) -> None:
    from tests.test_registry import FAST

    table, catalog, _ = planted
    config = SegmentationConfig.from_dict({**FAST.to_dict(), "n_segments": 7})
    model = SegmentationModel(config).fit(table.slice(0, 800), catalog)
    assert model.n_segments_ == 7 and model.metrics_["k_selection"] == []
    stored = FAST.to_dict()
    stored["clustering"]["min_share"] = 0.03  # written by versions before the stability criterion
    assert SegmentationConfig.from_dict(stored) == FAST
    with pytest.raises(ValueError, match="unknown"):
        SegmentationConfig.from_dict({**FAST.to_dict(), "no_such_key": 1})


def test_too_few_customers_give_one_segment_that_says_why(planted) -> None:
    from customer_ml.segmentation.model import MIN_ROWS_TO_SEGMENT

    table, catalog, _ = planted
    small = table.slice(0, MIN_ROWS_TO_SEGMENT - 1)
    model = SegmentationModel(CONFIG).fit(small, catalog)
    out = model.predict(small)
    assert set(out.column("segment_id").to_pylist()) == {0}
    assert out.column("top_features").null_count == small.num_rows
    assert model.metrics_["n_segments"] == 1 and "only 29 customers" in model.metrics_["fallback"]
    xs, ys = map_2d(np.zeros((2, 4)), "pca")
    assert list(xs) == [0.0, 0.0] and list(ys) == [0.0, 0.0]


def test_the_representation_with_the_best_criterion_wins_and_a_fallback_says_why() -> None:
    from customer_ml.segmentation.model import choose_representation, cross_space_scores

    def scores(embedding: float, features: float, crit: str) -> dict[str, dict[str, float]]:
        return {"embedding": {crit: embedding}, "features": {crit: features}}

    # The default: the best cross-space score wins; the features winning is a fallback, with the figures.
    default = SelectionConfig(candidates=("embedding", "features"))
    chosen, why = choose_representation(scores(0.97, 0.91, "cross_space"), default)
    assert chosen == "embedding" and why.startswith("built on the embedding representation")
    chosen, why = choose_representation(scores(0.90, 0.99, "cross_space"), default)
    assert chosen == "features" and why.startswith("fell back to the scaled features")
    assert "embedding 0.900, features 0.990" in why
    # prefer_learned: the learned embedding unless the features lead by more than the margin.
    margin = SelectionConfig(
        candidates=("embedding", "features"),
        criterion="silhouette_features",
        prefer_learned=True,
        fallback_margin=0.1,
    )
    chosen, why = choose_representation(scores(0.30, 0.36, "silhouette_features"), margin)
    assert chosen == "embedding" and why.startswith("built on the learned embedding")
    chosen, why = choose_representation(scores(0.05, 0.20, "silhouette_features"), margin)
    assert chosen == "features" and "beats the embedding representation's by 0.150" in why

    # Cross-space scores: each space ranks the candidates' segments by silhouette relative to its best.
    rng = np.random.default_rng(0)
    centres = np.repeat(np.eye(3) * 6.0, 50, axis=0)
    good_space = centres + rng.normal(size=centres.shape)
    noise_space = rng.normal(size=centres.shape)
    truth = np.repeat(np.arange(3), 50)
    noise_labels = KMeans(3, n_init=5, random_state=0).fit_predict(noise_space)
    # Two representations hold the groups (the second a stretched copy), one is noise whose own k-means
    # segments separate well only in itself: segments that hold across representations score higher.
    spaces = {"good": good_space, "stretched": good_space * [1.0, 3.0, 0.3], "noise": noise_space}
    stretched_labels = KMeans(3, n_init=5, random_state=0).fit_predict(spaces["stretched"])
    cross = cross_space_scores(spaces, {"good": truth, "stretched": stretched_labels, "noise": noise_labels})
    assert cross["good"] > cross["noise"] and 0 < cross["noise"] < 1 and cross["good"] <= 1.0
    assert cross_space_scores({"only": good_space}, {"only": truth}) == {"only": 1.0}


def test_predict_in_batches_matches_one_batch_and_reports_progress(planted, fitted):
    table, _, _ = planted
    model, _ = fitted
    record = model.to_record()
    record["config"] = {**record["config"], "predict_batch_size": 700}
    batched = SegmentationModel.from_record(record)
    lines: list[str] = []
    out = batched.predict(table, progress=lines.append)
    assert out.equals(model.predict(table))
    np.testing.assert_array_equal(batched.transform(table), model.transform(table))
    assert lines[0].startswith("assigning segments: 700 of 2,400 rows")
    assert lines[-1].startswith("assigning segments: 2,400 of 2,400 rows")
