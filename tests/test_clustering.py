import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from segmentation.clustering import SegmentClusterer, match_segments, select_k
from segmentation.config import ClusteringConfig


def blobs(sizes, dim=6, spread=6.0, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0.0, spread, size=(len(sizes), dim))
    X = np.vstack([c + rng.normal(0.0, 1.0, size=(n, dim)) for c, n in zip(centers, sizes, strict=True)])
    labels = np.repeat(np.arange(len(sizes)), sizes)
    return X, labels, centers


@pytest.mark.parametrize("k_true", [4, 6])
def test_select_k_finds_planted_k_on_clear_data(k_true):
    X, _, _ = blobs([300] * k_true, seed=k_true)
    k, rows = select_k(X, ClusteringConfig(k_min=3, k_max=9, sample_size=1000, n_init=3), seed=0)
    assert k == k_true
    assert [r["k"] for r in rows] == list(range(3, 10))
    assert sum(r["chosen"] for r in rows) == 1
    for key in ("silhouette", "davies_bouldin", "bic", "min_share", "eligible"):
        assert key in rows[0]


def test_select_k_respects_min_share():
    # four big groups and one tiny but very distinct group (1% of rows)
    X, _, _ = blobs([500, 500, 500, 500, 20], spread=8.0, seed=1)
    k_loose, _ = select_k(X, ClusteringConfig(k_min=3, k_max=7, min_share=0.0, n_init=3), seed=0)
    k, rows = select_k(X, ClusteringConfig(k_min=3, k_max=7, min_share=0.03, n_init=3), seed=0)
    assert k_loose == 5
    chosen = next(r for r in rows if r["chosen"])
    assert chosen["min_share"] >= 0.03 and k != 5
    assert not next(r for r in rows if r["k"] == 5)["eligible"]


def test_match_segments_recovers_permutation():
    rng = np.random.default_rng(0)
    previous = rng.normal(0.0, 5.0, size=(6, 10))
    perm = rng.permutation(6)
    new = previous[perm] + rng.normal(0.0, 0.1, size=(6, 10))
    mapping = match_segments(previous, new)
    assert mapping == {i: int(perm[i]) for i in range(6)}
    ids = np.array([10, 11, 12, 13, 14, 15])
    assert match_segments(previous, new, ids) == {i: int(ids[perm[i]]) for i in range(6)}


def test_match_segments_new_and_far_clusters_get_fresh_ids():
    previous = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    new = np.array([[10.1, 0.0], [0.0, 0.1], [0.1, 10.0], [50.0, 50.0]])
    assert match_segments(previous, new, [3, 5, 7]) == {0: 5, 1: 3, 2: 7, 3: 8}
    moved = np.array([[0.0, 0.2], [30.0, 30.0], [0.0, 9.9]])
    assert match_segments(previous, moved, max_distance=2.0) == {0: 0, 2: 2, 1: 3}
    with pytest.raises(ValueError):
        match_segments(previous, np.zeros((3, 5)))


@pytest.mark.parametrize("method", ["kmeans", "gmm"])
def test_clusterer_state_round_trip_and_soft_membership(method):
    X, labels, _ = blobs([200, 250, 300], seed=2)
    cfg = ClusteringConfig(method=method)
    cl = SegmentClusterer(cfg, n_clusters=3, seed=0).fit(X)
    proba = cl.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba.argmax(axis=1), cl.predict(X))
    restored = SegmentClusterer.from_state(cl.to_state(), cfg)
    np.testing.assert_array_equal(restored.predict(X), cl.predict(X))
    np.testing.assert_array_equal(restored.predict_proba(X), proba)
    assert len(np.unique(cl.labels_)) == 3


def test_clusterer_chooses_k_and_raises_before_fit():
    X, _, _ = blobs([200] * 5, seed=3)
    cl = SegmentClusterer(ClusteringConfig(k_min=3, k_max=7, n_init=3), seed=0).fit(X)
    assert cl.n_clusters_ == 5 and len(cl.selection_) == 5
    with pytest.raises(NotFittedError):
        SegmentClusterer().predict(X)


def test_previous_k_is_kept_when_the_criteria_barely_differ() -> None:
    rng = np.random.default_rng(5)
    centers = rng.normal(0, 6, size=(4, 3))
    X = np.vstack([c + rng.normal(0, 1, size=(150, 3)) for c in centers])
    config = ClusteringConfig(k_min=3, k_max=6, n_init=4, sample_size=600)
    best, rows = select_k(X, config, seed=1)
    ranks = {r["k"]: r["mean_rank"] for r in rows}
    near = [k for k in ranks if k != best and ranks[k] is not None and ranks[k] <= ranks[best] + 1.0]
    far = [k for k in ranks if ranks[k] is not None and ranks[k] > ranks[best] + 1.0]
    if near:
        assert select_k(X, config, seed=1, preferred_k=near[0])[0] == near[0]
    assert far, rows
    assert select_k(X, config, seed=1, preferred_k=far[0])[0] == best
    strict = ClusteringConfig(k_min=3, k_max=6, n_init=4, sample_size=600, k_stickiness=0.0)
    assert select_k(X, strict, seed=1, preferred_k=far[0])[0] == best
