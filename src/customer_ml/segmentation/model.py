"""`SegmentationModel`: preprocessing, adversarial autoencoder, IDEC fine-tuning and segment assignment."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import torch
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.manifold import TSNE
from sklearn.metrics import adjusted_rand_score, silhouette_score

from customer_ml.features.preprocessing import FeaturePreprocessor, load_catalog
from customer_ml.nn.autoencoder import AdversarialAutoencoder, AutoencoderNet, _threaded
from customer_ml.nn.device import resolve_device
from customer_ml.segmentation.clustering import (
    SegmentClusterer,
    fit_kmeans,
    match_segments,
    merge_segments,
    seeded_sample,
    select_k,
    squared_distances,
)
from customer_ml.segmentation.config import SegmentationConfig
from customer_ml.serialization import jsonable
from customer_ml.warehouse.progress import Progress as ProgressLine

Progress = Callable[[str], None] | None

REPRESENTATIONS = ("embedding", "joint", "features")
N_QUANTILES = 1001
# Fewer training rows than this and segments are not learned: everyone is in one segment, and the
# version's metrics say so (a k-means of 12 groups on 20 customers would be noise with names).
MIN_ROWS_TO_SEGMENT = 30


class SegmentationModel:
    """Customer segmentation estimator working from the feature catalog on pyarrow tables.

    `fit` preprocesses, pretrains the adversarial autoencoder, chooses k, fine-tunes with IDEC, then picks
    the representation (embedding, embedding joined with the scaled features, or the scaled features)
    whose clustering scores best on a label-free criterion; all candidates' scores go to `metrics_`.
    """

    def __init__(self, config: SegmentationConfig | None = None) -> None:
        self.config = config

    @property
    def _cfg(self) -> SegmentationConfig:
        return self.config or SegmentationConfig()

    @property
    def threads(self) -> int | None:
        """CPU threads used while fitting and applying (from the config)."""
        return self._cfg.cpu_threads

    def _check_fitted(self) -> None:
        if not hasattr(self, "clusterer_"):
            raise NotFittedError("SegmentationModel is not fitted yet; call fit() or from_record() first")

    # -- fitting ---------------------------------------------------------------------------------------
    def training_rows(self, n_rows: int) -> np.ndarray:
        """Indices of the rows `fit` trains on out of a table of `n_rows`: a seeded sample of
        `train_sample_size` rows when larger, in table order (the evaluation's twins reuse them)."""
        return seeded_sample(n_rows, self._cfg.train_sample_size, self._cfg.seed)

    @_threaded
    def fit(
        self, table: pa.Table, catalog: Any, progress: Progress = None, preferred_k: int | None = None
    ) -> SegmentationModel:
        """Fit every stage on `table` (a seeded sample of `train_sample_size` rows when larger).

        `preferred_k`, the previous version's number of segments, is kept when the criteria barely
        prefer another (see `ClusteringConfig.k_stickiness`)."""
        cfg = self._cfg
        say = progress or (lambda _msg: None)
        t_start = time.perf_counter()
        rows = self.training_rows(table.num_rows)
        train = table.take(pa.array(rows)) if len(rows) < table.num_rows else table
        self.preprocessor_ = FeaturePreprocessor(cfg.preprocessing).fit(train, load_catalog(catalog))
        X_scaled = self.preprocessor_.transform(train)
        self.input_weights_ = input_weights(X_scaled, column_sources(self.preprocessor_), cfg.input_weighting)
        X = X_scaled * self.input_weights_
        say(f"preprocessing: {X.shape[0]} rows x {X.shape[1]} model inputs")
        timings = {"preprocessing": time.perf_counter() - t_start}
        t0 = time.perf_counter()

        if cfg.pretrain_processes > 1:
            # Imported here: the distributed module imports this package's configuration.
            from customer_ml.distributed.ddp import fit_autoencoder_ddp

            say(f"autoencoder: pretraining in {cfg.pretrain_processes} processes (DistributedDataParallel)")
            self.autoencoder_ = fit_autoencoder_ddp(
                X, cfg.autoencoder, cfg.seed, cfg.pretrain_processes, cfg.cpu_threads or 1
            )
            self.autoencoder_.dec = cfg.dec
        else:
            self.autoencoder_ = AdversarialAutoencoder(
                cfg.autoencoder, cfg.dec, cfg.seed, cfg.device, cfg.cpu_threads
            ).fit(X, progress)

        timings["autoencoder"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        if len(X) < MIN_ROWS_TO_SEGMENT:
            return self._fit_one_segment(X, X_scaled, timings, t_start, say)
        space = X if cfg.clustering.selection_space == "features" else self.autoencoder_.transform(X)
        if cfg.n_segments is not None:
            if not 2 <= cfg.n_segments < len(X):
                raise ValueError(
                    f"n_segments must be between 2 and the number of rows - 1, not {cfg.n_segments}"
                )
            k, selection = int(cfg.n_segments), []
            say(f"segments: k={k} as configured (n_segments)")
        else:
            k, selection = select_k(space, cfg.clustering, cfg.seed, preferred_k)
            say(f"segments: k={k} chosen on the {cfg.clustering.selection_space} space")
        init = fit_kmeans(
            np.asarray(space, dtype=np.float64),
            k,
            cfg.clustering.n_init,
            cfg.seed,
            cfg.clustering.fragment_share,
        ).predict(np.asarray(space, dtype=np.float64))
        # The training rows' embedding before fine-tuning: not stored; bench/bench_scenarios.py probes
        # what it holds against what the fine-tuned embedding holds.
        self.pretrained_embedding_ = self.autoencoder_.transform(X)
        timings["k_selection"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        if cfg.dec.enabled:
            self.autoencoder_.fit_dec(X, k, init_labels=init, progress=progress)
        timings["dec"] = time.perf_counter() - t0
        t0 = time.perf_counter()

        errors = self.autoencoder_.reconstruction_error(X).astype(np.float64)
        self.error_quantiles_ = np.quantile(errors, np.linspace(0.0, 1.0, N_QUANTILES))
        Z = self.autoencoder_.transform(X)
        self.block_scales_ = np.array(
            [
                np.sqrt(Z.astype(np.float64).var(axis=0).sum()) or 1.0,
                np.sqrt(X.astype(np.float64).var(axis=0).sum()) or 1.0,
            ]
        )
        candidates: dict[str, dict[str, float]] = {}
        fitted: dict[str, SegmentClusterer] = {}
        spaces: dict[str, np.ndarray] = {}
        eval_rows = seeded_sample(len(X), cfg.selection.sample_size, cfg.seed + 7)
        for name in cfg.selection.candidates:
            R = self._represent(name, X, Z)
            clusterer = SegmentClusterer(cfg.clustering, n_clusters=k, seed=cfg.seed).fit(R)
            fitted[name] = clusterer
            candidates[name] = self._score(R, clusterer, X_scaled, eval_rows)
            spaces[name] = R[eval_rows]
        for name, score in cross_space_scores(
            spaces, {n: c.predict(spaces[n]) for n, c in fitted.items()}
        ).items():
            candidates[name]["cross_space"] = score
        for name in cfg.selection.candidates:
            say(f"candidate {name}: " + " ".join(f"{m}={v:.4f}" for m, v in candidates[name].items()))
        crit = cfg.selection.criterion
        self.representation_, why = choose_representation(candidates, cfg.selection)
        self.clusterer_ = fitted[self.representation_]
        # Each candidate's training-row segments: not stored; bench/bench_scenarios.py scores them.
        self.candidate_labels_ = {name: c.labels_ for name, c in fitted.items()}
        timings["candidates"] = time.perf_counter() - t0
        labels = self.clusterer_.labels_
        self.n_segments_ = k
        self.segment_ids_ = np.arange(k)
        self.profiles_ = np.stack(
            [
                X_scaled[labels == c].astype(np.float64).mean(axis=0)
                if (labels == c).any()
                else np.zeros(X_scaled.shape[1])
                for c in range(k)
            ]
        )
        self.feature_names_ = list(self.preprocessor_.feature_names_out_)
        self.broad_of_ = merge_segments(
            self.clusterer_.cluster_centers_, np.bincount(labels, minlength=k), cfg.n_broad_segments
        )
        say(f"representation: {self.representation_} (criterion {crit})")

        self.metrics_: dict[str, Any] = {
            "n_train_rows": int(X.shape[0]),
            "n_inputs": int(X.shape[1]),
            "n_segments": int(k),
            "k_selection": selection,
            "representation": self.representation_,
            "criterion": crit,
            "candidates": candidates,
            "representation_reason": why,
            "segment_shares": (np.bincount(labels, minlength=k) / len(labels)).tolist(),
            "n_broad_segments": int(self.broad_of_.max() + 1),
            "autoencoder_epochs": self.autoencoder_.n_epochs_,
            "autoencoder_stopped_early": bool(self.autoencoder_.stopped_early_),
            "autoencoder_best_val_loss": float(self.autoencoder_.best_val_loss_),
            "dec_epochs": len(getattr(self.autoencoder_, "dec_history_", [])),
            "dropped_features": list(self.preprocessor_.dropped_features_),
        }
        t0 = time.perf_counter()
        rob_rows = seeded_sample(len(X), cfg.robustness_sample_size, cfg.seed + 11)
        X_rob = X[rob_rows]
        self.metrics_["robustness"] = self._robustness_matrix(X_rob, cfg.robustness_epsilon)
        emb_clusterer = fitted.get("embedding") or SegmentClusterer(cfg.clustering, k, cfg.seed).fit(Z)
        self.metrics_["robustness_adversarial"] = _embedding_robustness(
            self.autoencoder_, emb_clusterer, X_rob, cfg.robustness_epsilon
        )
        timings["robustness"] = time.perf_counter() - t0
        say(
            f"robustness (epsilon={cfg.robustness_epsilon}): deployed={self.metrics_['robustness']:.4f} "
            f"embedding adversarial={self.metrics_['robustness_adversarial']:.4f}"
        )
        timings["total"] = time.perf_counter() - t_start
        self.metrics_["seconds"] = timings
        return self

    def _fit_one_segment(
        self,
        X: np.ndarray,
        X_scaled: np.ndarray,
        timings: dict[str, float],
        t_start: float,
        say: Callable[[str], None],
    ) -> SegmentationModel:
        """Too few customers to learn segments from: everyone in one segment, on the scaled features,
        with the autoencoder still trained for the anomaly score and the map. The metrics say why."""
        cfg = self._cfg
        reason = (
            f"only {len(X)} customers: segments are learned from {MIN_ROWS_TO_SEGMENT} or more, so every "
            "customer is in one segment"
        )
        say(f"segments: k=1 ({reason})")
        errors = self.autoencoder_.reconstruction_error(X).astype(np.float64)
        self.error_quantiles_ = np.quantile(errors, np.linspace(0.0, 1.0, N_QUANTILES))
        self.block_scales_ = np.ones(2)
        self.representation_ = "features"
        self.clusterer_ = SegmentClusterer(cfg.clustering, n_clusters=1, seed=cfg.seed).fit(
            X.astype(np.float64)
        )
        self.n_segments_ = 1
        self.segment_ids_ = np.arange(1)
        self.profiles_ = X_scaled.astype(np.float64).mean(axis=0, keepdims=True)
        self.broad_of_ = np.zeros(1, dtype=np.int64)
        self.feature_names_ = list(self.preprocessor_.feature_names_out_)
        self.pretrained_embedding_ = self.autoencoder_.transform(X)
        self.metrics_ = {
            "n_train_rows": int(X.shape[0]),
            "n_inputs": int(X.shape[1]),
            "n_segments": 1,
            "k_selection": [],
            "representation": self.representation_,
            "criterion": cfg.selection.criterion,
            "candidates": {},
            "segment_shares": [1.0],
            "autoencoder_epochs": self.autoencoder_.n_epochs_,
            "autoencoder_stopped_early": bool(self.autoencoder_.stopped_early_),
            "autoencoder_best_val_loss": float(self.autoencoder_.best_val_loss_),
            "dec_epochs": 0,
            "dropped_features": list(self.preprocessor_.dropped_features_),
            "fallback": reason,
        }
        timings["total"] = time.perf_counter() - t_start
        self.metrics_["seconds"] = timings
        return self

    def _represent(self, name: str, X: np.ndarray, Z: np.ndarray | None = None) -> np.ndarray:
        if name == "features":
            return X.astype(np.float64)
        if Z is None:
            Z = self.autoencoder_.transform(X)
        if name == "embedding":
            return Z.astype(np.float64)
        if name == "joint":
            return np.hstack([Z / self.block_scales_[0], X / self.block_scales_[1]]).astype(np.float64)
        raise ValueError(f"unknown representation {name!r}; use one of {REPRESENTATIONS}")

    def _represent_torch(self, x: torch.Tensor) -> torch.Tensor:
        name = self.representation_
        if name == "features":
            return x.double()
        z = self.autoencoder_.net_.embed(x).double()
        if name == "embedding":
            return z
        return torch.cat([z / float(self.block_scales_[0]), x.double() / float(self.block_scales_[1])], dim=1)

    def _score(
        self, R: np.ndarray, clusterer: SegmentClusterer, X: np.ndarray, rows: np.ndarray
    ) -> dict[str, float]:
        """Label-free scores of a candidate: bootstrap stability, silhouette in own and feature space."""
        cfg = self._cfg
        rng = np.random.default_rng(cfg.seed + 3)
        R_eval = R[rows]
        reference = clusterer.predict(R_eval)
        stab = []
        for b in range(cfg.selection.n_bootstrap):
            boot = rng.choice(len(R_eval), size=len(R_eval), replace=True)
            km = KMeans(n_clusters=clusterer.n_clusters_, n_init=1, random_state=cfg.seed + b).fit(
                R_eval[boot]
            )
            stab.append(adjusted_rand_score(reference, km.predict(R_eval)))
        single = len(np.unique(reference)) < 2
        return {
            "stability": float(np.mean(stab)),
            "silhouette": 0.0 if single else float(silhouette_score(R_eval, reference)),
            "silhouette_features": 0.0 if single else float(silhouette_score(X[rows], reference)),
        }

    # -- applying --------------------------------------------------------------------------------------
    @_threaded
    def predict(self, table: pa.Table, progress: Progress = None) -> pa.Table:
        """Per customer: segment, soft membership, distance, anomaly score, embedding and top features.

        Applies to every row of `table` in batches of `predict_batch_size` (preprocessing included), with
        a progress line through `progress` at most every few seconds."""
        self._check_fitted()
        n, d = table.num_rows, self.autoencoder_._cfg.embedding_dim
        seg = np.empty(n, dtype=np.int64)
        broad = np.empty(n, dtype=np.int64)
        broad_ids = self.broad_segment_ids_
        prob = np.empty(n, dtype=np.float64)
        dist = np.empty(n, dtype=np.float64)
        anomaly = np.empty(n, dtype=np.float64)
        emb = np.empty((n, d), dtype=np.float32)
        top: list[pa.Array] = []
        bs = self._cfg.predict_batch_size
        done = ProgressLine(progress, "assigning segments", n)
        for start in range(0, n, bs):
            X_scaled = self.preprocessor_.transform(table.slice(start, bs))
            X = X_scaled * self.input_weights_
            Z = self.autoencoder_.transform(X)
            R = self._represent(self.representation_, X, Z)
            d2 = squared_distances(R, self.clusterer_.cluster_centers_)
            labels = self.clusterer_.predict(R)
            proba = self.clusterer_.predict_proba(R)
            rows = np.arange(len(X))
            sl = slice(start, start + len(X))
            seg[sl] = self.segment_ids_[labels]
            broad[sl] = broad_ids[labels]
            prob[sl] = proba[rows, labels]
            dist[sl] = np.sqrt(d2[rows, labels])
            err = self.autoencoder_.reconstruction_error(X).astype(np.float64)
            anomaly[sl] = np.interp(err, self.error_quantiles_, np.linspace(0.0, 1.0, N_QUANTILES))
            emb[sl] = Z
            runner = d2.copy()
            runner[rows, labels] = np.inf
            top.append(self._top_features(X_scaled, labels, runner.argmin(axis=1)))
            done.update(start + len(X))
        cols: dict[str, Any] = {
            "customer_id": table.column("customer_id"),
            "segment_id": pa.array(seg, type=pa.int64()),
            "broad_segment_id": pa.array(broad, type=pa.int64()),
            "segment_probability": pa.array(prob),
            "distance_to_centroid": pa.array(dist),
            "anomaly_score": pa.array(anomaly),
        }
        for j in range(d):
            cols[f"embedding_{j}"] = pa.array(emb[:, j].astype(np.float64))
        cols["top_features"] = pa.chunked_array(top, type=pa.string())
        return pa.table(cols)

    def _top_features(self, X: np.ndarray, assigned: np.ndarray, runner_up: np.ndarray) -> pa.Array:
        """Features with the largest share of the distance margin between runner-up and assigned profile,
        in words ("many orders; few days since last order"), one phrase per catalog feature; null where no
        feature sets the customer apart (one segment, or no positive share)."""
        m_a, m_b = self.profiles_[assigned], self.profiles_[runner_up]
        Xd = X.astype(np.float64)
        contrib = (Xd - m_b) ** 2 - (Xd - m_a) ** 2
        n_top = min(self._cfg.n_top_features, X.shape[1])
        order = largest_columns(contrib, n_top)
        rows = np.arange(len(X))[:, None]
        above = (m_a[rows, order] >= m_b[rows, order]).astype(np.int64)
        kept = ~(contrib[rows, order] <= 0)  # a share that is not a number is kept, as it always was
        return phrase_lists(column_reasons(self.preprocessor_), order, above, kept)

    def inputs(self, table: pa.Table) -> np.ndarray:
        """The weighted model matrix (scaled features times `input_weights_`) the autoencoder reads."""
        self._check_fitted()
        return self.preprocessor_.transform(table) * self.input_weights_

    def transform(self, table: pa.Table, progress: Progress = None) -> np.ndarray:
        """Embeddings (n x embedding_dim) of the customers in `table`, in batches of `predict_batch_size`."""
        self._check_fitted()
        bs = self._cfg.predict_batch_size
        out = np.empty((table.num_rows, self.autoencoder_._cfg.embedding_dim), dtype=np.float32)
        done = ProgressLine(progress, "embedding customers", table.num_rows)
        for start in range(0, table.num_rows, bs):
            batch = table.slice(start, bs)
            out[start : start + batch.num_rows] = self.autoencoder_.transform(self.inputs(batch), bs)
            done.update(start + batch.num_rows)
        return out

    @_threaded
    def robustness(self, table: pa.Table, epsilon: float | None = None) -> float:
        """Share of customers whose segment changes under an FGSM push (max-norm epsilon) off its centroid."""
        self._check_fitted()
        eps = self._cfg.robustness_epsilon if epsilon is None else epsilon
        return self._robustness_matrix(self.inputs(table), eps)

    def _robustness_matrix(self, X: np.ndarray, epsilon: float) -> float:
        net = self.autoencoder_.net_
        net.eval()
        centers = torch.as_tensor(self.clusterer_.cluster_centers_, dtype=torch.float64)
        changed = 0
        for start in range(0, len(X), 8192):
            xb = torch.as_tensor(np.ascontiguousarray(X[start : start + 8192], dtype=np.float32))
            xb = xb.to(self.autoencoder_.device_)
            with torch.no_grad():
                before = self.clusterer_.predict(self._represent_torch(xb).cpu().numpy())
            c = centers[before].to(self.autoencoder_.device_)
            x_req = xb.clone().requires_grad_(True)
            loss = ((self._represent_torch(x_req) - c) ** 2).sum()
            (grad,) = torch.autograd.grad(loss, x_req)
            with torch.no_grad():
                after = self.clusterer_.predict(
                    self._represent_torch(xb + epsilon * grad.sign()).cpu().numpy()
                )
            changed += int((before != after).sum())
        return changed / max(1, len(X))

    # -- stable ids ------------------------------------------------------------------------------------
    def align_to(
        self, previous: SegmentationModel | np.ndarray, max_distance: float | None = None
    ) -> dict[int, int]:
        """Relabel segments to keep the ids of `previous` (a model or its profile centroids) where they match.

        Matching is Hungarian on segment means in the scaled feature space (columns common to both
        versions when `previous` is a model). Returns the mapping old segment id -> new segment id.
        """
        self._check_fitted()
        mine = self.profiles_
        if isinstance(previous, SegmentationModel):
            previous._check_fitted()
            common = [f for f in self.feature_names_ if f in set(previous.feature_names_)]
            idx_me = [self.feature_names_.index(f) for f in common]
            idx_prev = [previous.feature_names_.index(f) for f in common]
            order = np.argsort(previous.segment_ids_)
            prev_centroids = previous.profiles_[order][:, idx_prev]
            prev_ids = previous.segment_ids_[order]
            mine = mine[:, idx_me]
        else:
            prev_centroids = np.asarray(previous, dtype=np.float64)
            prev_ids = np.arange(len(prev_centroids))
        mapping = match_segments(prev_centroids, mine, prev_ids, max_distance)
        old = self.segment_ids_.copy()
        self.segment_ids_ = np.array([mapping[c] for c in range(self.n_segments_)], dtype=np.int64)
        return {int(o): int(n) for o, n in zip(old, self.segment_ids_, strict=True)}

    @property
    def broad_segment_ids_(self) -> np.ndarray:
        """For each segment (cluster index), the id of its broad segment: the smallest segment id among
        the segments merged into it, so broad ids follow the stable segment ids across retrains."""
        self._check_fitted()
        broad_of = getattr(self, "broad_of_", np.arange(self.n_segments_))
        ids = np.asarray(self.segment_ids_, dtype=np.int64)
        return np.array([ids[broad_of == broad_of[c]].min() for c in range(len(ids))], dtype=np.int64)

    @property
    def segment_centroids_(self) -> np.ndarray:
        """Segment means in the scaled feature space, row i for segment id `segment_ids_[i]`."""
        self._check_fitted()
        return self.profiles_

    # -- serialisation ---------------------------------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        """JSON-serialisable config, feature names, preprocessing state and metrics, plus a `weights` blob."""
        self._check_fitted()
        arrays: dict[str, Any] = {
            "autoencoder": {k: v.detach().cpu() for k, v in self.autoencoder_.net_.state_dict().items()},
            "error_quantiles": torch.from_numpy(self.error_quantiles_),
            "profiles": torch.from_numpy(self.profiles_),
            "segment_ids": torch.from_numpy(self.segment_ids_),
            "broad_of": torch.from_numpy(np.asarray(self.broad_of_, dtype=np.int64)),
            "block_scales": torch.from_numpy(self.block_scales_),
            "input_weights": torch.from_numpy(np.asarray(self.input_weights_, dtype=np.float32)),
            "clusterer": {
                k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v)
                for k, v in self.clusterer_.to_state().items()
            },
            "representation": self.representation_,
            "n_features_in": self.autoencoder_.n_features_in_,
        }
        if hasattr(self.autoencoder_, "centroids_"):
            arrays["dec_centroids"] = torch.from_numpy(self.autoencoder_.centroids_)
        buf = io.BytesIO()
        torch.save(arrays, buf)
        return {
            "config": self._cfg.to_dict(),
            "feature_names": list(self.feature_names_),
            "preprocessing": self.preprocessor_.to_state(),
            "metrics": jsonable(self.metrics_),
            "weights": buf.getvalue(),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any], device: str | None = None) -> SegmentationModel:
        """A fitted model from `to_record` output; predicts identically without refitting."""
        cfg = SegmentationConfig.from_dict(record["config"])
        obj = cls(cfg)
        obj.preprocessor_ = FeaturePreprocessor.from_state(record["preprocessing"])
        obj.feature_names_ = list(record["feature_names"])
        obj.metrics_ = dict(record["metrics"])
        blob = torch.load(io.BytesIO(record["weights"]), map_location="cpu", weights_only=True)
        ae = AdversarialAutoencoder(cfg.autoencoder, cfg.dec, cfg.seed, device or cfg.device, cfg.cpu_threads)
        ae.device_ = resolve_device(device or cfg.device)
        ae.n_features_in_ = int(blob["n_features_in"])
        ae.net_ = AutoencoderNet(
            ae.n_features_in_,
            tuple(cfg.autoencoder.hidden),
            cfg.autoencoder.embedding_dim,
            cfg.autoencoder.contrastive_weight > 0,
        )
        ae.net_.load_state_dict(blob["autoencoder"])
        ae.net_.to(ae.device_).eval()
        if "dec_centroids" in blob:
            ae.centroids_ = blob["dec_centroids"].numpy()
        obj.autoencoder_ = ae
        obj.error_quantiles_ = blob["error_quantiles"].numpy()
        obj.profiles_ = blob["profiles"].numpy()
        obj.segment_ids_ = blob["segment_ids"].numpy()
        # Versions stored before broad segments existed: every segment is its own broad segment.
        own = np.arange(len(obj.segment_ids_), dtype=np.int64)
        obj.broad_of_ = blob["broad_of"].numpy() if "broad_of" in blob else own
        obj.block_scales_ = blob["block_scales"].numpy()
        n_in = len(obj.feature_names_)
        obj.input_weights_ = (
            blob["input_weights"].numpy() if "input_weights" in blob else np.ones(n_in, dtype=np.float32)
        )
        state = {k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in blob["clusterer"].items()}
        obj.clusterer_ = SegmentClusterer.from_state(state, cfg.clustering)
        obj.representation_ = str(blob["representation"])
        obj.n_segments_ = obj.clusterer_.n_clusters_
        if obj.feature_names_ != obj.preprocessor_.feature_names_out_:
            raise ValueError("record is inconsistent: feature names differ from the preprocessing state")
        return obj


def cross_space_scores(spaces: dict[str, np.ndarray], labels: dict[str, np.ndarray]) -> dict[str, float]:
    """Each candidate's segments scored in every candidate's space, relative to the best there, averaged.

    A silhouette is only comparable inside one space (a contrastive embedding on the unit sphere scores
    higher than any feature space), so each space ranks the candidates' segments by their silhouette
    divided by the best silhouette in that space; a candidate whose segments are well separated in the
    other candidates' spaces too scores near 1. With one candidate it scores 1."""
    scores = {name: [] for name in labels}
    for space in spaces.values():
        sil = {
            name: float(silhouette_score(space, lab)) if len(np.unique(lab)) > 1 else 0.0
            for name, lab in labels.items()
        }
        best = max(sil.values())
        for name, value in sil.items():
            scores[name].append(value / best if best > 0 else 0.0)
    return {name: float(np.mean(values)) for name, values in scores.items()}


def choose_representation(candidates: dict[str, dict[str, float]], selection: Any) -> tuple[str, str]:
    """The representation the segments are built on, and why (see `SelectionConfig.prefer_learned`)."""
    crit = selection.criterion
    order = list(selection.candidates)
    figures = ", ".join(f"{name} {candidates[name][crit]:.3f}" for name in order)
    best = max(order, key=lambda c: (candidates[c][crit], -order.index(c)))
    learned = [c for c in order if c != "features"]
    if not selection.prefer_learned or not learned:
        if best == "features" and learned:
            return "features", (
                f"fell back to the scaled features: their segments score best on {crit} ({figures}; higher "
                "is better), so the learned embedding does not separate customers as well"
            )
        return best, f"built on the {best} representation: best {crit} ({figures})"
    first = learned[0]
    if "features" in candidates:
        lead = candidates["features"][crit] - candidates[first][crit]
        if lead > selection.fallback_margin:
            return "features", (
                f"fell back to the scaled features: their segments' {crit} beats the {first} "
                f"representation's by {lead:.3f}, more than the margin {selection.fallback_margin} "
                f"({figures}), so the learned embedding does not separate customers as well"
            )
    return first, (
        f"built on the learned {first} representation ({crit} {figures}; the features would need to lead "
        f"by more than {selection.fallback_margin})"
    )


def column_sources(preprocessor: FeaturePreprocessor) -> list[str]:
    """For each output column of a fitted preprocessor, the catalog feature it comes from."""
    sources: list[str] = []
    for spec in preprocessor.specs_:
        if spec.name in preprocessor.numeric_:
            sources.extend([spec.name] * (2 if preprocessor.numeric_[spec.name]["indicator"] else 1))
        elif spec.name in preprocessor.categories_:
            sources.extend([spec.name] * (len(preprocessor.categories_[spec.name]) + 1))
    return sources


_LEVEL_WORDS = ("share", "spread", "average", "spend", "net", "gross", "age", "revenue", "activity")


def _amount_words(label: str) -> tuple[str, str]:
    """("few ...", "many ...") for a label that counts things, else ("low ...", "high ...")."""
    words = label.split()
    if words and words[0] not in _LEVEL_WORDS and any(w.endswith("s") for w in words):
        return f"few {label}", f"many {label}"
    return f"low {label}", f"high {label}"


def column_reasons(preprocessor: FeaturePreprocessor) -> list[tuple[str, str]]:
    """For each output column of a fitted preprocessor, the words for a customer below / above the
    comparison: the catalog label ("many orders", "low net spend"), "no spend trend recorded" for a
    missing-value indicator, "country DE" / "country not DE" for a one-hot column."""
    out: list[tuple[str, str]] = []
    for spec in preprocessor.specs_:
        label = spec.label or spec.name.replace("_", " ")
        if spec.name in preprocessor.numeric_:
            out.append(_amount_words(label))
            if preprocessor.numeric_[spec.name]["indicator"]:
                out.append((f"{label} recorded", f"no {label} recorded"))
        elif spec.name in preprocessor.categories_:
            for value in [*preprocessor.categories_[spec.name], "other"]:
                shown = "another value" if value == "other" else value
                out.append((f"{label} not {shown}", f"{label} {shown}"))
    return out


def largest_columns(values: np.ndarray, k: int) -> np.ndarray:
    """The k columns of each row with the largest values, largest first, a tie going to the lower column:
    `np.argsort(-values, axis=1, kind="stable")[:, :k]`, in k passes of argmax instead of a sort of every
    row (argmax returns the first of equal values). At 913,107 customers x 88 columns and k = 3: 0.5 CPU s
    against 2.6-2.7 for the sort. Values that are not finite go through the sort itself, so the order is
    the sort's whatever they hold."""
    if k >= values.shape[1] or not np.isfinite(values).all():
        return np.argsort(-values, axis=1, kind="stable")[:, :k]
    work = values.copy()
    rows = np.arange(len(values))
    order = np.empty((len(values), k), dtype=np.intp)
    for j in range(k):
        order[:, j] = work.argmax(axis=1)
        work[rows, order[:, j]] = -np.inf
    return order


def phrase_lists(
    words: list[tuple[str, str]], order: np.ndarray, above: np.ndarray, kept: np.ndarray
) -> pa.Array:
    """Per row i, the phrases `words[order[i, j]][above[i, j]]` for j in order where `kept[i, j]`, each
    phrase once (at its first place), joined by "; "; null where none is left. Each row's phrases become
    integer codes and each distinct list of codes is joined once: at 913,107 customers there are 26,893
    distinct lists; joining every row's in Python took about 4 CPU s (the reasons 6.7 s in all, now 2.0)."""
    phrases: dict[str, int] = {}
    codes = np.array([[phrases.setdefault(w, len(phrases)) for w in pair] for pair in words], dtype=np.int64)
    codes = codes.reshape(-1, 2)
    picked = np.where(kept, codes[order, above], -1)
    for j in range(1, picked.shape[1]):
        repeated = (picked[:, j : j + 1] == picked[:, :j]).any(axis=1)
        picked[repeated, j] = -1
    base = len(phrases) + 1
    if base ** picked.shape[1] < 2**62:
        # Each row's codes as the digits of one integer: a sort of integers instead of rows.
        key = np.zeros(len(picked), dtype=np.int64)
        for j in range(picked.shape[1]):
            key = key * base + (picked[:, j] + 1)
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(picked, axis=0, return_index=True, return_inverse=True)
    text = list(phrases)
    joined = ["; ".join(text[c] for c in picked[i] if c >= 0) or None for i in first]
    return pa.array(joined, type=pa.string()).take(pa.array(inverse.reshape(-1)))


def input_weights(X: np.ndarray, sources: list[str], mode: str = "standardise_blocks") -> np.ndarray:
    """Label-free column weights (float32) of the scaled feature matrix; see `input_weighting`."""
    if mode not in ("none", "standardise", "standardise_blocks"):
        raise ValueError(f"unknown input_weighting {mode!r}")
    w = np.ones(X.shape[1], dtype=np.float64)
    if mode == "none":
        return w.astype(np.float32)
    sd = np.asarray(X, dtype=np.float64).std(axis=0)
    w = np.where(sd > 1e-8, 1.0 / np.where(sd > 1e-8, sd, 1.0), 1.0)
    if mode == "standardise_blocks":
        names, counts = np.unique(np.asarray(sources), return_counts=True)
        size = dict(zip(names.tolist(), counts.tolist(), strict=True))
        w = w / np.sqrt([size[s] for s in sources])
    return w.astype(np.float32)


def _embedding_robustness(
    ae: AdversarialAutoencoder, clusterer: SegmentClusterer, X: np.ndarray, epsilon: float
) -> float:
    """Share of rows whose embedding cluster changes under an FGSM push away from the assigned centre."""
    net = ae.net_
    net.eval()
    xb = torch.as_tensor(np.ascontiguousarray(X, dtype=np.float32)).to(ae.device_)
    with torch.no_grad():
        before = clusterer.predict(net.embed(xb).double().cpu().numpy())
    centers = torch.as_tensor(clusterer.cluster_centers_, dtype=torch.float64)[before].to(ae.device_)
    x_req = xb.clone().requires_grad_(True)
    loss = ((net.embed(x_req).double() - centers) ** 2).sum()
    (grad,) = torch.autograd.grad(loss, x_req)
    with torch.no_grad():
        after = clusterer.predict(net.embed(xb + epsilon * grad.sign()).double().cpu().numpy())
    return float((before != after).mean())


TSNE_ITERATIONS = 500
"""t-SNE's gradient steps for the customer map (scikit-learn's default is 1,000). On 3,000 customers of
six data sets (the demo at 100,000 and 1,000,000 customers, four independent recommendation scenarios)
500 steps gave the same trustworthiness of the 2-D neighbours (within 0.0002) and a share of each
point's ten nearest 2-D neighbours in its own segment no lower (0 to 0.0023 higher) for half the CPU
(about 10 s of 20 per build); the objective (KL divergence) ends about 0.13 higher, not yet converged.
Chosen on three of them, confirmed on the other three (docs/measurements.md, eleventh session)."""


def map_2d(
    embeddings: np.ndarray,
    method: str = "pca",
    sample_size: int | None = 5000,
    seed: int = 0,
    return_index: bool = False,
    tsne_iterations: int = TSNE_ITERATIONS,
) -> tuple[np.ndarray, ...]:
    """2-D coordinates (x, y) of a seeded sample of embeddings by PCA or t-SNE (plus row indices if asked);
    `tsne_iterations`: t-SNE's gradient steps, early exaggeration's 250 included (at least 250)."""
    if method == "tsne" and tsne_iterations < 250:
        raise ValueError(
            f"tsne_iterations must be at least 250 (t-SNE's early exaggeration), got {tsne_iterations}"
        )
    emb = np.asarray(embeddings, dtype=np.float64)
    idx = seeded_sample(len(emb), sample_size, seed)
    sub = emb[idx]
    if method not in ("pca", "tsne"):
        raise ValueError(f"unknown method {method!r}; use 'pca' or 'tsne'")
    if len(sub) <= 3:
        # Too few points for a projection to mean anything (or for t-SNE to run): all at the origin.
        xy = np.zeros((len(sub), 2))
    elif method == "pca":
        xy = PCA(n_components=2, random_state=seed).fit_transform(sub)
    elif method == "tsne":
        perplexity = float(min(30.0, max(2.0, (len(sub) - 1) / 3.0)))
        xy = TSNE(
            n_components=2, random_state=seed, init="pca", perplexity=perplexity, max_iter=tsne_iterations
        ).fit_transform(sub)
    if return_index:
        return xy[:, 0], xy[:, 1], idx
    return xy[:, 0], xy[:, 1]
