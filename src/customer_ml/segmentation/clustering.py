"""Segment-count selection, k-means / Gaussian-mixture clustering and stable segment ids."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score, davies_bouldin_score, silhouette_score
from sklearn.mixture import GaussianMixture

from customer_ml.nn.device import blas_threads
from customer_ml.sampling import seeded_sample
from customer_ml.segmentation.config import ClusteringConfig


def one_blas_thread() -> AbstractContextManager[object]:
    """A context in which BLAS runs on one thread. A multi-threaded matrix product splits its rows
    between the threads that are free, and a row at a split's edge is summed in another order, so the
    last bits of a distance would depend on what else the process runs (dbt runs two Python models at
    once): with one thread, the same rows give the same bits. The products here are small. In a dbt
    build the process is pinned at one BLAS thread already (customer_ml.nn.device.pin_blas_threads)."""
    return blas_threads(1)


def squared_distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (n x k), computed in float64 (on one BLAS thread: one_blas_thread)."""
    X64 = np.asarray(X, dtype=np.float64)
    C64 = np.asarray(centers, dtype=np.float64)
    with one_blas_thread():
        d2 = (X64**2).sum(axis=1)[:, None] - 2.0 * X64 @ C64.T + (C64**2).sum(axis=1)[None, :]
    return np.maximum(d2, 0.0)


def student_t_membership(d2: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Soft membership from squared distances with a Student-t kernel (rows sum to 1)."""
    w = (1.0 + d2 / alpha) ** (-(alpha + 1.0) / 2.0)
    return w / w.sum(axis=1, keepdims=True)


def select_k(
    X: np.ndarray, config: ClusteringConfig | None = None, seed: int = 0, preferred_k: int | None = None
) -> tuple[int, list[dict]]:
    """Choose the number of segments on a seeded sample of X; returns (k, per-k metrics rows).

    `k_criterion = "silhouette"` (the default, for the contrastive embedding on the unit sphere): each k in
    k_min..k_max is clustered with `fit_kmeans` (fragments of outliers set aside, so a handful of extreme
    customers never forbids a k) and scored by its silhouette on the sample; the chosen k has the highest
    silhouette, and every k within `silhouette_tolerance` of it is eligible. On the normalised contrastive
    embedding silhouette follows the planted k on the development scenario families (bench/scenarios.py)
    where on the scaled features it picked the fewest groups (the research notes, section 6).

    `k_criterion = "stability"`: each k is scored by the mean adjusted Rand index between k-means fitted on
    two disjoint random halves of the sample, both applied to the whole sample, over `n_stability` pairs.
    A k is eligible when its stability reaches `stability_ratio` times the best stability over the range;
    walking up from k_min, the chosen k is the last eligible one before two ineligible ks in a row.

    Either way `preferred_k` (the previous version's k) is kept while it is eligible and within
    `k_stickiness` of the chosen k. Silhouette, Davies-Bouldin and the smallest segment's share are
    recorded for each k (and stability under the stability criterion).
    """
    cfg = config or ClusteringConfig()
    if cfg.k_criterion not in ("silhouette", "stability"):
        raise ValueError(f"unknown k_criterion {cfg.k_criterion!r}; use 'silhouette' or 'stability'")
    sample = np.asarray(X, dtype=np.float64)[seeded_sample(len(X), cfg.sample_size, seed)]
    rng = np.random.default_rng(seed + 5)
    rows: list[dict[str, Any]] = []
    half = len(sample) // 2
    by_silhouette = cfg.k_criterion == "silhouette"
    for k in range(cfg.k_min, min(cfg.k_max, half - 1) + 1):
        if by_silhouette:
            km = fit_kmeans(sample, k, cfg.selection_n_init, seed, cfg.fragment_share)
            labels = km.predict(sample)
        else:
            labels = KMeans(n_clusters=k, n_init=cfg.selection_n_init, random_state=seed).fit_predict(sample)
        single = len(np.unique(labels)) < 2
        row: dict[str, Any] = {
            "k": k,
            "silhouette": 0.0 if single else float(silhouette_score(sample, labels)),
            "davies_bouldin": 0.0 if single else float(davies_bouldin_score(sample, labels)),
            "min_share": float(np.bincount(labels, minlength=k).min() / len(labels)),
        }
        if not by_silhouette:
            stab = []
            for b in range(cfg.n_stability):
                perm = rng.permutation(len(sample))
                a = KMeans(n_clusters=k, n_init=cfg.selection_n_init, random_state=seed + 2 * b + 1)
                c = KMeans(n_clusters=k, n_init=cfg.selection_n_init, random_state=seed + 2 * b + 2)
                la = a.fit(sample[perm[:half]]).predict(sample)
                lc = c.fit(sample[perm[half : 2 * half]]).predict(sample)
                stab.append(adjusted_rand_score(la, lc))
            row["stability"] = float(np.mean(stab))
        rows.append(row)
    if not rows:
        raise ValueError("no k to choose from: check k_min, k_max and the number of rows")
    if by_silhouette:
        top = max(r["silhouette"] for r in rows)
        for r in rows:
            r["eligible"] = bool(r["silhouette"] >= top - cfg.silhouette_tolerance)
            r["chosen"] = False
        best = max(rows, key=lambda r: (r["silhouette"], -r["k"]))
    else:
        floor = cfg.stability_ratio * max(r["stability"] for r in rows)
        for r in rows:
            r["eligible"] = bool(r["stability"] >= floor)
            r["chosen"] = False
        # Walk up from k_min and stop at the first two ineligible ks in a row: one noisy estimate neither
        # ends the walk early nor lets a lone stable k far above decide.
        best = rows[0]
        for i, r in enumerate(rows):
            if r["eligible"]:
                best = r
            elif i + 1 < len(rows) and not rows[i + 1]["eligible"]:
                break
        if not best["eligible"]:
            best = max(rows, key=lambda r: (r["stability"], -r["k"]))
    eligible = [r for r in rows if r["eligible"]]
    kept = [r for r in eligible if r["k"] == preferred_k]
    if kept and abs(kept[0]["k"] - best["k"]) <= cfg.k_stickiness:
        best = kept[0]
    best["chosen"] = True
    return int(best["k"]), rows


def fit_kmeans(X: np.ndarray, k: int, n_init: int, seed: int, min_share: float) -> KMeans:
    """K-means with k clusters that treats fragments as outliers instead of as segments.

    When a cluster holds fewer than `min_share` of the rows (a handful of extreme customers split off),
    its rows are set aside and k-means is refitted on the rest, at most three times; the set-aside rows
    are then assigned to their nearest centre like everyone else. A real small group above `min_share`
    keeps its own segment.
    """
    keep = np.ones(len(X), dtype=bool)
    km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(X)
    for _ in range(3):
        counts = np.bincount(km.labels_, minlength=k)
        small = np.flatnonzero(counts < min_share * keep.sum())
        if not len(small):
            break
        idx = np.flatnonzero(keep)
        keep[idx[np.isin(km.labels_, small)]] = False
        if keep.sum() <= k:
            break
        km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(X[keep])
    return km


def _rank(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    return ranks


class SegmentClusterer:
    """K-means (Student-t soft membership) or Gaussian mixture on embeddings, k chosen by `select_k`.

    Pass `n_clusters` to skip the selection. After `fit`: `cluster_centers_`, `labels_`, `n_clusters_`
    and `selection_` (per-k metrics rows, empty when k was given).
    """

    def __init__(self, config: ClusteringConfig | None = None, n_clusters: int | None = None, seed: int = 0):
        self.config = config
        self.n_clusters = n_clusters
        self.seed = seed

    def fit(self, X: np.ndarray) -> SegmentClusterer:
        """Choose k (unless given) and fit the clustering on X."""
        cfg = self.config or ClusteringConfig()
        X64 = np.asarray(X, dtype=np.float64)
        if self.n_clusters is None:
            k, self.selection_ = select_k(X64, cfg, self.seed)
        else:
            k, self.selection_ = int(self.n_clusters), []
        km = fit_kmeans(X64, k, cfg.n_init, self.seed, cfg.fragment_share)
        self.method_ = cfg.method
        self.n_clusters_ = k
        self.cluster_centers_ = km.cluster_centers_
        if cfg.method == "gmm":
            self.gmm_ = GaussianMixture(
                n_components=k,
                covariance_type=cfg.covariance_type,
                means_init=km.cluster_centers_,
                random_state=self.seed,
                reg_covar=1e-4,
            ).fit(X64)
            self.cluster_centers_ = self.gmm_.means_
        self.labels_ = self.predict(X64)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "cluster_centers_"):
            raise NotFittedError("SegmentClusterer is not fitted yet; call fit() first")

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Soft membership (n x k, rows sum to 1)."""
        self._check_fitted()
        if self.method_ == "gmm":
            with one_blas_thread():
                return self.gmm_.predict_proba(np.asarray(X, dtype=np.float64))
        return student_t_membership(squared_distances(X, self.cluster_centers_))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Hard assignment: nearest centre (k-means) or most probable component (mixture)."""
        self._check_fitted()
        if self.method_ == "gmm":
            with one_blas_thread():
                return self.gmm_.predict(np.asarray(X, dtype=np.float64))
        return squared_distances(X, self.cluster_centers_).argmin(axis=1)

    def to_state(self) -> dict[str, np.ndarray | str | int]:
        """Fitted arrays (numpy) plus method and k, enough to predict without refitting."""
        self._check_fitted()
        state: dict[str, Any] = {"method": self.method_, "n_clusters": self.n_clusters_}
        state["cluster_centers"] = np.asarray(self.cluster_centers_, dtype=np.float64)
        if self.method_ == "gmm":
            state["covariance_type"] = self.gmm_.covariance_type
            for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
                state[name] = np.asarray(getattr(self.gmm_, name), dtype=np.float64)
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any], config: ClusteringConfig | None = None) -> SegmentClusterer:
        """A fitted clusterer from `to_state` output."""
        obj = cls(config, n_clusters=int(state["n_clusters"]))
        obj.method_ = str(state["method"])
        obj.n_clusters_ = int(state["n_clusters"])
        obj.cluster_centers_ = np.asarray(state["cluster_centers"], dtype=np.float64)
        obj.selection_ = []
        if obj.method_ == "gmm":
            gmm = GaussianMixture(n_components=obj.n_clusters_, covariance_type=str(state["covariance_type"]))
            for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
                setattr(gmm, name, np.asarray(state[name], dtype=np.float64))
            obj.gmm_ = gmm
        return obj


def match_segments(
    previous_centroids: np.ndarray,
    new_centroids: np.ndarray,
    previous_ids: np.ndarray | list[int] | None = None,
    max_distance: float | None = None,
) -> dict[int, int]:
    """Map each new cluster index to a segment id, keeping the previous id of the group it matches.

    Hungarian matching on Euclidean distances between centroids. A new cluster that is unmatched (more
    new than previous clusters) or whose match is farther than `max_distance` gets a fresh id above every
    previous id. `previous_ids` default to 0..len(previous_centroids)-1.
    """
    prev = np.atleast_2d(np.asarray(previous_centroids, dtype=np.float64))
    new = np.atleast_2d(np.asarray(new_centroids, dtype=np.float64))
    if prev.shape[1] != new.shape[1]:
        raise ValueError(f"centroid widths differ: {prev.shape[1]} vs {new.shape[1]}")
    ids = np.arange(len(prev)) if previous_ids is None else np.asarray(previous_ids, dtype=np.int64)
    if len(ids) != len(prev):
        raise ValueError("previous_ids must have one id per previous centroid")
    cost = np.sqrt(squared_distances(new, prev))
    rows, cols = linear_sum_assignment(cost)
    mapping: dict[int, int] = {}
    for r, c in zip(rows, cols, strict=True):
        if max_distance is None or cost[r, c] <= max_distance:
            mapping[int(r)] = int(ids[c])
    next_id = int(ids.max()) + 1 if len(ids) else 0
    for r in range(len(new)):
        if r not in mapping:
            mapping[r] = next_id
            next_id += 1
    return mapping


def merge_segments(centers: np.ndarray, sizes: np.ndarray, n_groups: int) -> np.ndarray:
    """Broad groups of segments: Ward's agglomeration of the segment centres weighted by their sizes.

    Returns, for each segment, the index of its broad group (0..n_groups-1, numbered in the order of the
    segment each group's smallest member is), so a handful of broad segments for dashboards sit above
    the finer segments. With n_groups >= the number of segments every segment is its own group.
    """
    C = np.asarray(centers, dtype=np.float64)
    w = np.asarray(sizes, dtype=np.float64)
    k = len(C)
    groups: list[list[int]] = [[i] for i in range(k)]
    cen = [C[i].copy() for i in range(k)]
    wt = [max(float(w[i]), 1e-12) for i in range(k)]
    while len(groups) > max(1, n_groups):
        best, pair = np.inf, (0, 1)
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                cost = wt[a] * wt[b] / (wt[a] + wt[b]) * float(((cen[a] - cen[b]) ** 2).sum())
                if cost < best:
                    best, pair = cost, (a, b)
        a, b = pair
        cen[a] = (wt[a] * cen[a] + wt[b] * cen[b]) / (wt[a] + wt[b])
        wt[a] += wt[b]
        groups[a] = sorted(groups[a] + groups[b])
        del groups[b], cen[b], wt[b]
    groups.sort(key=lambda g: g[0])
    out = np.empty(k, dtype=np.int64)
    for g, members in enumerate(groups):
        out[members] = g
    return out
