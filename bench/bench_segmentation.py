"""Fit `SegmentationModel` on demo features and print how well its segments recover the hidden kinds.

Figures are those of `customer_ml.segmentation.evaluation.segmentation_evaluation` (ARI / NMI of the
learned segments, of k-means(k) on the standardised features and of k-means(k) on
recency/frequency/monetary), plus the chosen k and representation, the robustness measurements and the
fit time.

    .venv/bin/python bench/bench_segmentation.py --customers 20000 --seeds 42 7 3

generates that many demo customers and computes their features with the project's dbt models in a
scratch folder; or give parquet files of your own (current snapshot of int_customers_features,
customer_id + kind, int_feature_catalog):

    .venv/bin/python bench/bench_segmentation.py --features F --kinds K --catalog C
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from demo_features import build_demo_features, peak_rss_mib
from sklearn.metrics import adjusted_rand_score

from customer_ml.registry import model_inputs
from customer_ml.segmentation.clustering import SegmentClusterer
from customer_ml.segmentation.config import SegmentationConfig
from customer_ml.segmentation.evaluation import robustness_twins, segmentation_evaluation
from customer_ml.segmentation.model import SegmentationModel


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=5000, help="demo customers (without --features)")
    parser.add_argument("--features", help="features parquet, one row per customer")
    parser.add_argument("--kinds", help="parquet with customer_id, kind (ground truth; with --features)")
    parser.add_argument("--catalog", help="feature catalog parquet (with --features)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--config", default=None, help="JSON of SegmentationConfig overrides (nested dict)")
    parser.add_argument(
        "--candidates", action="store_true", help="also print every candidate's criteria and ARI (diagnostic)"
    )
    parser.add_argument("--no-twin", action="store_true", help="skip the non-adversarial twin (faster)")
    parser.add_argument("--verbose", action="store_true", help="print the fit's and predict's progress lines")
    args = parser.parse_args()

    if args.features:
        if not (args.kinds and args.catalog):
            parser.error("--features needs --kinds and --catalog")
        features = pq.read_table(args.features)
        truth = pq.read_table(args.kinds)
        catalog = model_inputs(pq.read_table(args.catalog))
        source = args.features
    else:
        with tempfile.TemporaryDirectory() as folder:
            features, catalog_table, truth = build_demo_features(args.customers, Path(folder))
        catalog = model_inputs(catalog_table)
        source = f"demo data, {args.customers} customers generated"
    overrides = json.loads(args.config) if args.config else {}
    say = (lambda msg: print(f"      {msg}", flush=True)) if args.verbose else None
    print(f"{source}: {features.num_rows} customers with a transaction, {len(catalog)} catalog inputs")
    header = (
        f"{'seed':>5} {'k':>3} {'repr':>9} {'ARI_learn':>9} {'ARI_kmstd':>9} {'ARI_rfm':>8} "
        f"{'NMI_learn':>9} {'NMI_kmstd':>9} {'NMI_rfm':>8} {'rob_adv':>7} {'rob_plain':>9} "
        f"{'fit_s':>6} {'apply_s':>7}"
    )
    print(header)
    for seed in args.seeds:
        cfg = SegmentationConfig.from_dict({**overrides, "seed": seed})
        t0 = time.perf_counter()
        model = SegmentationModel(cfg).fit(features, catalog, progress=say)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        assignments = model.predict(features, progress=say)
        predict_s = time.perf_counter() - t0
        twin_s = None
        if not args.no_twin:
            t0 = time.perf_counter()
            model.metrics_.update(robustness_twins(model, features))
            twin_s = time.perf_counter() - t0
        rows = segmentation_evaluation(model, features, assignments, truth, seed=seed)
        value = {(r["model"], r["metric"]): r["value"] for r in rows}
        m = model.metrics_

        def f(key: tuple[str, str], width: int, value: dict = value) -> str:
            v = value.get(key)
            return f"{v:>{width}.3f}" if v is not None else f"{'-':>{width}}"

        print(
            f"{seed:>5} {model.n_segments_:>3} {model.representation_:>9} "
            f"{f(('learned', 'adjusted_rand_index'), 9)} "
            f"{f(('kmeans_standardised_features', 'adjusted_rand_index'), 9)} "
            f"{f(('kmeans_rfm', 'adjusted_rand_index'), 8)} "
            f"{f(('learned', 'nmi'), 9)} {f(('kmeans_standardised_features', 'nmi'), 9)} "
            f"{f(('kmeans_rfm', 'nmi'), 8)} "
            f"{m.get('robustness_adversarial', float('nan')):>7.3f} "
            f"{m.get('robustness_plain', float('nan')):>9.3f} {fit_s:>6.1f} {predict_s:>7.1f}",
            flush=True,
        )
        stages = " ".join(f"{name}={sec:.1f}" for name, sec in m.get("seconds", {}).items())
        twins = f", robustness twins (evaluation, after fit) {twin_s:.1f}" if twin_s is not None else ""
        print(f"      fit seconds by stage: {stages}{twins}", flush=True)
        if "robustness_adversarial_twin" in m:
            print(
                "      robustness on the plain twin's rows: "
                f"adversarial {m['robustness_adversarial_twin']:.3f} vs plain {m['robustness_plain']:.3f}",
                flush=True,
            )
        if args.candidates:
            print_candidates(model, features, truth, seed)
    print(f"peak RSS of this process (fits, evaluation; dbt runs in a child): {peak_rss_mib():,.0f} MiB")


def print_candidates(model: SegmentationModel, features, truth, seed: int) -> None:
    """Each candidate representation's label-free scores next to its ARI against the hidden kinds."""
    kinds = dict(zip(truth.column("customer_id").to_pylist(), truth.column("kind").to_pylist(), strict=True))
    y = np.array([kinds.get(c, "?") for c in features.column("customer_id").to_pylist()])
    X = model.inputs(features)
    Z = model.autoencoder_.transform(X)
    k = model.n_segments_
    for name, scores in model.metrics_["candidates"].items():
        labels = SegmentClusterer(model.config.clustering, k, seed).fit(model._represent(name, X, Z)).labels_
        text = " ".join(f"{m}={v:.3f}" for m, v in scores.items())
        print(f"      candidate {name:>9}: ARI={adjusted_rand_score(y, labels):.3f} {text}")
    for row in model.metrics_["k_selection"]:
        text = " ".join(f"{m}={v:.3f}" if isinstance(v, float) else f"{m}={v}" for m, v in row.items())
        print(f"      k-selection {text}")


if __name__ == "__main__":
    main()
