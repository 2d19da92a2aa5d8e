"""The model's own evaluation, written to the warehouse on every build.

On real data there are no labels, so segmentation is judged by internal measures (silhouette and
Davies-Bouldin on the current customers, stability under resampling and robustness to adversarial
perturbation measured at training time). On the demo data, whose generator kept each customer's hidden
kind apart, recovery of those kinds (adjusted Rand index, NMI) is added, against k-means on the same
standardised features and on RFM features alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.cluster import KMeans
from sklearn.metrics import (
    adjusted_rand_score,
    davies_bouldin_score,
    normalized_mutual_info_score,
    silhouette_score,
)

from customer_ml.nn.autoencoder import AdversarialAutoencoder
from customer_ml.nn.device import cpu_threads
from customer_ml.segmentation.clustering import SegmentClusterer, seeded_sample
from customer_ml.segmentation.model import SegmentationModel, _embedding_robustness

RFM_FEATURES = ("recency_days", "frequency", "monetary")


def _row(task: str, model: str, metric: str, value: float | None, note: str = "") -> dict[str, Any]:
    finite = value is not None and np.isfinite(value)
    return {
        "task": task,
        "model": model,
        "metric": metric,
        "value": float(value) if finite else None,
        "note": note,
    }


def robustness_twins(
    model: SegmentationModel, table: pa.Table, progress: Callable[[str], None] | None = None
) -> dict[str, float]:
    """What the adversarial term buys, measured after `fit` on the rows it trained on: the embedding
    robustness (share of customers whose segment changes under an FGSM push) of a twin encoder trained
    like the deployed one but without the adversarial term (`robustness_plain`), and, when the twin sees
    a sample of the training rows (`twin_sample_size`), of an adversarial twin on the same sample
    (`robustness_adversarial_twin`). `table` is the table `fit` was given; empty for a one-segment model."""
    if model.n_segments_ < 2:
        return {}
    cfg = model._cfg
    with cpu_threads(model.threads):
        rows = model.training_rows(table.num_rows)
        X = model.inputs(table.take(pa.array(rows)) if len(rows) < table.num_rows else table)
        X_rob = X[seeded_sample(len(X), cfg.robustness_sample_size, cfg.seed + 11)]
        X_twin = X[seeded_sample(len(X), cfg.twin_sample_size, cfg.seed)]
        # The twins' clustering fine-tuning starts from the deployed model's segments of their rows.
        init = model.clusterer_.predict(model._represent(model.representation_, X_twin))
        out = {"robustness_plain": _twin(cfg, X_twin, init, model.n_segments_, X_rob, 0.0)}
        if len(X_twin) < len(X):
            # The deployed encoder saw more rows (and larger batches) than the plain twin: an adversarial
            # twin on the twin's own rows makes the like-for-like comparison.
            weight = cfg.autoencoder.adversarial_weight
            out["robustness_adversarial_twin"] = _twin(cfg, X_twin, init, model.n_segments_, X_rob, weight)
    if progress is not None:
        progress("robustness twins: " + " ".join(f"{key}={value:.4f}" for key, value in out.items()))
    return out


ROBUSTNESS_SCHEMA = pa.schema(
    [
        ("model_version", pa.string()),
        ("as_of_date", pa.date32()),
        ("on_training_data", pa.bool_()),
        ("robustness_plain", pa.float64()),
        ("robustness_adversarial_twin", pa.float64()),
    ]
)
"""One row per segmentation version whose twins were trained (`segmentation_model_robustness`)."""


def robustness_row(
    model: SegmentationModel,
    table: pa.Table,
    version: dict[str, Any],
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any] | None:
    """The twins of a stored version (`robustness_twins`) as a `ROBUSTNESS_SCHEMA` row, or None for a
    one-segment model. `table` is the current snapshot: the rows the version was fitted on when it was
    trained at this as-of date (`on_training_data`), otherwise today's customers, sampled the same way."""
    twins = robustness_twins(model, table, progress)
    if not twins:
        return None
    as_of_date = table.column("as_of_date")[0].as_py() if table.num_rows else None
    trained_on = (version["as_of_date"], version["training_rows"])
    return {
        "model_version": version["model_version"],
        "as_of_date": as_of_date,
        "on_training_data": (as_of_date, table.num_rows) == trained_on,
        "robustness_plain": twins["robustness_plain"],
        "robustness_adversarial_twin": twins.get("robustness_adversarial_twin"),
    }


def stored_robustness(rows: pa.Table) -> dict[str, float]:
    """The twins' figures in `rows` (a version's row of `segmentation_model_robustness`, as Arrow), as
    metrics keys; empty when there is none."""
    if not rows.num_rows:
        return {}
    row = rows.to_pylist()[-1]
    keys = ("robustness_plain", "robustness_adversarial_twin")
    return {key: row[key] for key in keys if row[key] is not None}


def _twin(cfg: Any, X: np.ndarray, init: np.ndarray, k: int, X_rob: np.ndarray, weight: float) -> float:
    """Embedding robustness of a twin encoder trained like the deployed one on X, with the adversarial
    term weighted by `weight` (0: without it)."""
    twin_cfg = dataclasses.replace(cfg.autoencoder, adversarial_weight=weight)
    twin = AdversarialAutoencoder(twin_cfg, cfg.dec, cfg.seed, cfg.device, cfg.cpu_threads).fit(X)
    if cfg.dec.enabled:
        twin.fit_dec(X, k, init_labels=init)
    clusterer = SegmentClusterer(cfg.clustering, k, cfg.seed).fit(twin.transform(X))
    return _embedding_robustness(twin, clusterer, X_rob, cfg.robustness_epsilon)


def segmentation_evaluation(
    model: SegmentationModel,
    features: pa.Table,
    assignments: pa.Table,
    truth: pa.Table | None = None,
    seed: int = 42,
    sample_size: int = 5000,
    baseline_fit_size: int | None = 100_000,
) -> list[dict[str, Any]]:
    """Evaluation rows (task, model, metric, value, note) of the applied segmentation.

    `features` and `assignments` must list the same customers in the same order. The k-means baselines
    of the recovery rows are fitted on a seeded sample of at most `baseline_fit_size` customers and
    assign everyone (at 913,107 customers, fitting them on everyone took 26 of the node's 36 seconds).
    On one thread, like every fit of the package: scikit-learn's k-means adds its threads' partial sums
    in the order they finish, so on more than two cores the baselines' centres, and near a tie their
    segments, could differ between two runs on the same data.
    """
    with cpu_threads(1):
        return _evaluation_rows(model, features, assignments, truth, seed, sample_size, baseline_fit_size)


def _evaluation_rows(
    model: SegmentationModel,
    features: pa.Table,
    assignments: pa.Table,
    truth: pa.Table | None,
    seed: int,
    sample_size: int,
    baseline_fit_size: int | None,
) -> list[dict[str, Any]]:
    if features.column("customer_id") != assignments.column("customer_id"):
        raise ValueError("features and assignments must list the same customers in the same order")
    labels = assignments.column("segment_id").to_numpy()
    X = model.preprocessor_.transform(features).astype(np.float64)
    k = len(np.unique(labels))
    rows = [_row("segmentation", "learned", "segments", k, model.metrics_.get("fallback", ""))]
    sample = seeded_sample(len(X), sample_size, seed)
    if 1 < k < len(sample):
        rows.append(
            _row(
                "segmentation",
                "learned",
                "silhouette",
                silhouette_score(X[sample], labels[sample]),
                "on the standardised features, current customers",
            )
        )
        rows.append(
            _row("segmentation", "learned", "davies_bouldin", davies_bouldin_score(X[sample], labels[sample]))
        )
    metrics = model.metrics_
    chosen = metrics.get("representation")
    candidate = metrics.get("candidates", {}).get(chosen, {}) if chosen else {}
    if "stability" in candidate:
        rows.append(
            _row(
                "segmentation",
                "learned",
                "stability",
                candidate["stability"],
                "mean ARI between clusterings of bootstrap resamples (training time)",
            )
        )
    rows.extend(_representation_rows(metrics))
    for key, note in (
        ("robustness", "share of customers whose segment changes under an FGSM push of size epsilon"),
        ("robustness_adversarial", "same, in the embedding of the adversarially trained encoder"),
        ("robustness_plain", "same, in the embedding of a twin trained without the adversarial term"),
        (
            "robustness_adversarial_twin",
            "same, in a twin trained with the adversarial term on the plain twin's rows (only when the "
            "twin saw a sample of the training rows: the like-for-like comparison)",
        ),
    ):
        if key in metrics:
            rows.append(_row("segmentation", "learned", key, metrics[key], note))
    if truth is not None and truth.num_rows:
        rows.extend(_recovery(X, labels, features, truth, model, k, seed, baseline_fit_size))
    return rows


def _representation_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Which representation the segments are built on and why, with every candidate's figures.

    `uses_learned_representation` is 1 when the segments are built on the autoencoder's embedding (alone
    or joined with the scaled features) and 0 when the build fell back to the scaled features; its note
    says why, with the label-free criterion of each candidate. One row per candidate holds its figure.
    """
    chosen = metrics.get("representation")
    candidates = metrics.get("candidates") or {}
    criterion = metrics.get("criterion")
    if not chosen or not candidates or not criterion:
        return []
    figures = ", ".join(
        f"{name} {scores[criterion]:.3f}" for name, scores in candidates.items() if criterion in scores
    )
    learned = chosen in ("embedding", "joint")
    if metrics.get("representation_reason"):
        note = str(metrics["representation_reason"])
    elif learned:
        note = f"segments built on the {chosen} representation: {criterion} {figures}"
    else:
        note = (
            f"fell back to the scaled features: their segments score best on {criterion} ({figures}; "
            "higher is better), so the learned embedding does not separate customers better than the "
            "features it was trained on"
        )
    rows = [_row("segmentation", "learned", "uses_learned_representation", 1.0 if learned else 0.0, note)]
    for name, scores in candidates.items():
        if criterion in scores:
            rows.append(
                _row(
                    "segmentation",
                    f"candidate_{name}",
                    criterion,
                    scores[criterion],
                    f"label-free criterion of the {name} candidate at the chosen k (chosen: {chosen})",
                )
            )
    return rows


def _kmeans_labels(X: np.ndarray, fit_rows: np.ndarray, k: int, seed: int) -> np.ndarray:
    """A k-means baseline's segment of every row of X, fitted on X[fit_rows] (every row: fit_predict)."""
    kmeans = KMeans(n_clusters=k, n_init=4, random_state=seed)
    if len(fit_rows) == len(X):
        return kmeans.fit_predict(X)
    return kmeans.fit(X[fit_rows]).predict(X)


def _recovery(
    X: np.ndarray,
    labels: np.ndarray,
    features: pa.Table,
    truth: pa.Table,
    model: SegmentationModel,
    k: int,
    seed: int,
    baseline_fit_size: int | None = None,
) -> list[dict[str, Any]]:
    """ARI and NMI of the segments and of two k-means baselines against the generator's hidden kinds. The
    baselines are fitted on a seeded sample of at most `baseline_fit_size` of the customers (None: all)
    and assign every one of them, as the learned segmentation is fitted on a sample and applied to all."""
    truth_ids = truth.column("customer_id").combine_chunks()
    at = pc.index_in(features.column("customer_id").cast(truth_ids.type), value_set=truth_ids)
    known = np.asarray(pc.is_valid(at).to_numpy(zero_copy_only=False), dtype=bool)
    if known.sum() < 10 or k < 2:
        return []
    # The kinds as whole-number codes: the scores do not depend on the labels' names, and sorting a million
    # text labels (np.unique inside each score) took 13 s at 913,107 customers.
    kinds = truth.column("kind").take(at.filter(pc.is_valid(at))).combine_chunks().dictionary_encode()
    truth_labels = np.asarray(pc.fill_null(kinds.indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    names = model.preprocessor_.feature_names_out_
    rfm = [names.index(name) for name in RFM_FEATURES if name in names]
    # Every customer has a kind on the demo data: X itself then, not a copy of it (0.6 GiB of float64 at
    # 913,107 customers, at the moment the build's memory peaks).
    X_known = X if known.all() else X[known]
    fit_rows = seeded_sample(len(X_known), baseline_fit_size, seed)
    candidates = {
        "learned": labels[known],
        "kmeans_standardised_features": _kmeans_labels(X_known, fit_rows, k, seed),
    }
    if rfm:
        candidates["kmeans_rfm"] = _kmeans_labels(X_known[:, rfm], fit_rows, k, seed)
    rows = []
    for name, predicted in candidates.items():
        note = f"against the demo generator's hidden kinds, {k} segments"
        rows.append(
            _row(
                "segmentation",
                name,
                "adjusted_rand_index",
                adjusted_rand_score(truth_labels, predicted),
                note,
            )
        )
        rows.append(
            _row("segmentation", name, "nmi", normalized_mutual_info_score(truth_labels, predicted), note)
        )
    return rows


EVALUATION_SCHEMA = pa.schema(
    [
        ("model_version", pa.string()),
        ("as_of_date", pa.date32()),
        ("task", pa.string()),
        ("model", pa.string()),
        ("metric", pa.string()),
        ("value", pa.float64()),
        ("note", pa.string()),
    ]
)


def evaluation_table(rows: list[dict[str, Any]], model_version: str, as_of_date: Any) -> pa.Table:
    """Evaluation rows as a table, each naming the model version and the as-of date."""
    full = [{"model_version": model_version, "as_of_date": as_of_date, **row} for row in rows]
    return pa.Table.from_pylist(full, schema=EVALUATION_SCHEMA)
