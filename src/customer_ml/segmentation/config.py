"""Typed, frozen hyperparameters of the segmentation estimators, with defaults that work."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from customer_ml.serialization import jsonable


@dataclass(frozen=True)
class PreprocessingConfig:
    """How catalog features are turned into model inputs."""

    max_categories: int = 10
    """Most frequent categories kept per one-hot feature (the rest, and unseen values, map to `other`)."""
    min_category_share: float = 0.01
    """A category needs at least this share of training rows to get its own column."""
    clip: float = 8.0
    """Scaled numeric values are clipped to [-clip, clip] so heavy tails do not dominate distances."""


@dataclass(frozen=True)
class AutoencoderConfig:
    """Architecture and training of the adversarial autoencoder."""

    hidden: tuple[int, ...] = (64, 32)
    embedding_dim: int = 16
    """Width of the embedding: 8 dimensions held less of the planted groups than the features did
    (linear probe 0.67 to 0.75 against 0.87 to 0.90 on overlapping development families)."""
    batch_size: int = 256
    max_batches_per_epoch: int | None = 50
    """Larger training sets get larger batches, so an epoch takes at most this many optimiser steps
    (None: `batch_size` always). On 54,811 demo customers this cut the fit outside the robustness twins
    from 170 s to 107 s with the same segments (ARI 0.313); robustness 0.028 against 0.085 without the
    adversarial term (0.014 against 0.070 with batches of 256). Up to 12,800 training rows nothing
    changes."""
    max_epochs: int = 25
    patience: int = 8
    min_delta: float = 1e-4
    """Relative improvement of the validation loss that resets the patience counter."""
    learning_rate: float = 3e-3
    weight_decay: float = 1e-5
    val_fraction: float = 0.1
    epsilon: float = 0.1
    """FGSM step size (max-norm of the perturbation) in scaled-feature units."""
    adversarial_weight: float = 1.0
    """Weight lambda of the adversarial reconstruction term; 0 disables it."""
    contrastive_weight: float = 1.0
    """Weight of the contrastive term (InfoNCE between two SCARF views of each customer, and between an
    FGSM-pushed view and the other); above 0 the embedding is L2-normalised (codes on the unit sphere)."""
    corruption_rate: float = 0.4
    """Share of a customer's inputs replaced by another customer's values in a SCARF view."""
    temperature: float = 0.2
    """InfoNCE temperature."""

    @property
    def attacks(self) -> bool:
        """Whether training adds the FGSM (adversarial) terms: a positive weight and step size."""
        return self.adversarial_weight > 0 and self.epsilon > 0


@dataclass(frozen=True)
class DECConfig:
    """Joint fine-tuning of encoder and centroids with a clustering objective (IDEC)."""

    enabled: bool = True
    max_epochs: int = 40
    update_interval: int = 2
    """Epochs between refreshes of the sharpened target distribution p."""
    tol: float = 0.002
    """Stop when fewer than this share of assignments change between target refreshes."""
    alpha: float = 1.0
    """Degrees of freedom of the Student-t kernel."""
    cluster_weight: float = 0.1
    """Weight gamma of KL(p||q) against the reconstruction loss. 0.1 as in the IDEC paper: at 1.0 the
    clustering term pressed the embedding into a few blobs (a linear probe of the planted groups fell
    after fine-tuning on the development scenario families, e.g. 0.746 -> 0.689 with eight groups)."""
    learning_rate: float = 1e-3


@dataclass(frozen=True)
class ClusteringConfig:
    """Segment count selection and the clustering itself."""

    k_min: int = 3
    k_max: int = 12
    method: Literal["kmeans", "gmm"] = "kmeans"
    """`kmeans`: hard centroids, Student-t soft membership; `gmm`: Gaussian mixture posteriors."""
    covariance_type: Literal["full", "diag", "spherical", "tied"] = "diag"
    sample_size: int = 5000
    """Rows (seeded sample) on which the number of segments is chosen."""
    k_criterion: Literal["silhouette", "stability"] = "silhouette"
    """How `select_k` scores each k (see there): silhouette of k-means with fragments set aside, or
    half-sample stability. Chosen on the development scenario families: on the normalised contrastive
    embedding, silhouette came closer to the planted k than stability."""
    silhouette_tolerance: float = 0.01
    """Under the silhouette criterion, ks whose silhouette is within this of the best are eligible (a
    retrain may keep the previous k among them, see `k_stickiness`)."""
    stability_ratio: float = 0.8
    """The chosen k is the largest whose stability (mean ARI between k-means on two disjoint halves of
    the sample) reaches this share of the best stability over k_min..k_max (walking up from k_min until
    two ks in a row fall short). Chosen on the development scenario families: 0.75 went past the planted
    k by 3 to 7 on the two families whose groups k-means recovers well; 0.8 kept closer."""
    n_stability: int = 6
    """Pairs of half-sample clusterings per k."""
    selection_n_init: int = 3
    """K-means restarts for each clustering while choosing k (the final fit uses `n_init`)."""
    fragment_share: float = 0.01
    """A cluster smaller than this share of customers is a fragment of outliers, not a segment: its rows
    are set aside, k-means is refitted on the rest and they join their nearest segment."""
    n_init: int = 30
    """K-means restarts; few restarts leave k-means in poor local optima on overlapping segments (on the
    demo data 10 restarts still gave ARI 0.30 or 0.36 at the same k depending on the seed; 30 give the
    lowest-inertia solution on every seed tried)."""
    selection_space: Literal["features", "embedding"] = "embedding"
    """Space in which k is chosen: the scaled features or the pretrained embedding."""
    k_stickiness: int = 1
    """On a retrain, the previous version's k is kept when its stability clears the threshold and it is
    within this many segments of the chosen k, so segments (and their ids) do not split or merge over
    noise in the criterion."""


@dataclass(frozen=True)
class SelectionConfig:
    """Label-free choice among candidate representations."""

    candidates: tuple[str, ...] = ("embedding", "joint", "features")
    """Representations clustered at the chosen k and scored: the autoencoder's `embedding`, `joint` (the
    embedding next to the weighted features, each block scaled to unit total variance) and the weighted
    `features`; the first learned one is preferred under `prefer_learned`."""
    criterion: Literal["cross_space", "silhouette_features", "stability", "silhouette"] = "cross_space"
    """`cross_space` (default): each candidate's segments are scored by their silhouette in every
    candidate's space, divided by the best silhouette in that space, averaged over the spaces
    (`model.cross_space_scores`): segments that stay separated whichever way the customers are represented
    score near 1. A silhouette is not comparable across spaces (Wang & Ye 2024), a rank within each space
    is. `silhouette_features`: silhouette of each candidate's segments in the common unweighted scaled
    feature space. `stability` (bootstrap ARI) and `silhouette` (in the candidate's own space) are recorded
    too but favour the collapsed clusters of a DEC embedding.

    Chosen on the development scenario families (seed 42, `bench/bench_scenarios.py --split development`)
    and the unit tests' Gaussian-latent fixture (`tests/planted.py`), mean ARI of the published segments
    against the planted groups: the best `cross_space` among embedding, joint and features 0.425 on the
    families, always the embedding (the previous default) 0.428, always the joint representation 0.419;
    on the fixture (k fixed at 6, model seeds 3 / 4 / 5) the cross-space rule picks the joint
    representation, 0.729 / 0.714 / 0.738, where the embedding's segments reach 0.578 / 0.581 / 0.563 and
    k-means on the scaled features 0.739: it ties the embedding where the embedding is best and avoids it
    where it spreads Gaussian groups over the sphere."""
    prefer_learned: bool = False
    """True: build on the first learned candidate (`embedding` or `joint`, in `candidates` order) unless the
    scaled features' segments beat it on `criterion` by more than `fallback_margin`. False (default): the
    candidate with the best criterion wins; either way, when the scaled features win `model_evaluation`
    says the build fell back and why, with every candidate's figure."""
    fallback_margin: float = 0.1
    """Under `prefer_learned` (the previous default, with `silhouette_features`): at 0.05 the
    transactions-only development family fell back to the features (silhouette in feature space 0.365
    against the embedding's 0.299) whose segments recovered less (ARI 0.194 against 0.246); at 0.1 every
    development family was built on the embedding."""
    n_bootstrap: int = 6
    sample_size: int = 3000


@dataclass(frozen=True)
class SegmentationConfig:
    """Everything `SegmentationModel` needs; nested sections keep their own defaults."""

    seed: int = 42
    n_segments: int | None = None
    """Number of segments; None (the default) chooses it from the data (`ClusteringConfig`)."""
    device: str = "auto"
    cpu_threads: int | None = 1
    """CPU threads for torch, BLAS and OpenMP while fitting and applying (None: leave the defaults)."""
    pretrain_processes: int = 1
    """Processes the autoencoder's pretraining runs in. Above 1: torch DistributedDataParallel on this
    machine (customer_ml.distributed.ddp; gloo, on the CPU, `cpu_threads` threads each), every process on
    a shard of each batch; the segments agree with one process's within the tolerance
    tests/test_distributed.py states. Across machines: torchrun (docs/scaling.md). The fine-tuning and
    the clustering after it run in the model's own process."""
    train_sample_size: int = 20_000
    """Rows (seeded sample) the model is fitted on; `predict` applies it to everyone in batches. On the
    182,679-customer demo set (seed 42, one thread, shared machine) a 20,000-row sample fitted in 73 s
    with ARI 0.352 against the hidden kinds, a 50,000-row one in 487 s with 0.346; fitting on every
    customer took 1,425 s inside the 200,000-customer build (bench/bench_segmentation.py)."""
    predict_batch_size: int = 65_536
    robustness_epsilon: float = 0.1
    robustness_sample_size: int = 5000
    twin_sample_size: int = 20_000
    """Training rows on which the non-adversarial twin is trained to measure what the adversarial term
    buys (`evaluation.robustness_twins`)."""
    train_twin: bool = True
    """Train the robustness twins of each new version (`evaluation.robustness_twins`, which dbt's
    segmentation_model_robustness calls once per version, beside the nodes that apply it; neither `fit`
    nor `versions.train_version` trains them)."""
    n_top_features: int = 3
    n_broad_segments: int = 4
    """Broad segments for dashboards above the segments: the segments merged by Ward's criterion on their
    centres (`clustering.merge_segments`); with this many segments or fewer each is its own."""
    input_weighting: Literal["none", "standardise", "standardise_blocks"] = "standardise_blocks"
    """Column weights applied to the preprocessed matrix before the autoencoder and the clustering:
    `standardise` divides each column by its training standard deviation (robust IQR scaling leaves
    shares, rates and indicators with a far smaller spread than the clipped heavy-tailed counts, so a few
    families dominated distances); `standardise_blocks` also divides the columns of one source feature
    (one-hot categories, value plus missing indicator) by the square root of their count, so a
    ten-category attribute weighs as much as one numeric feature, not ten."""
    preprocessing: PreprocessingConfig = field(default_factory=PreprocessingConfig)
    autoencoder: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    dec: DECConfig = field(default_factory=DECConfig)
    clustering: ClusteringConfig = field(default_factory=ClusteringConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable nested dict."""
        return jsonable(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SegmentationConfig:
        """Inverse of `to_dict`; missing keys take their defaults, unknown keys raise."""
        return _build(cls, data)


# Keys earlier versions stored that no longer mean anything: ignored when a stored config is read back.
RETIRED_KEYS = {"ClusteringConfig": {"min_share"}}


def _build(cls: type, data: dict[str, Any]) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    data = {k: v for k, v in data.items() if k not in RETIRED_KEYS.get(cls.__name__, set())}
    unknown = set(data) - set(fields)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
    kwargs: dict[str, Any] = {}
    defaults = cls()
    for name, value in data.items():
        current = getattr(defaults, name)
        if dataclasses.is_dataclass(current):
            kwargs[name] = _build(type(current), value)
        elif isinstance(current, tuple):
            kwargs[name] = tuple(value)
        else:
            kwargs[name] = value
    return cls(**kwargs)
