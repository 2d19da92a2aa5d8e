"""GPU check: trains the segmentation model on CUDA and on the CPU on the same demo features and prints
both speeds and the same metrics (segments, recovery of the demo's hidden kinds, robustness with and
without the adversarial term). Meant for a lent GPU machine; about a minute there.

    .venv/bin/python bench/gpu_check.py [--customers N]        (default 10000)

builds the demo features with the project's dbt models, then trains. A GPU machine often has torch,
scikit-learn and pyarrow but neither dbt nor DuckDB; then build the features here and carry them:

    .venv/bin/python bench/gpu_check.py --export DIR             (here: features, kinds, catalog parquet)
    PYTHONPATH=src python3 bench/gpu_check.py --features DIR     (there: no dbt, no DuckDB needed)

Needs a CUDA build of torch (see README, "Running on a GPU"); without CUDA it says so and runs the CPU
half only.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch

from customer_ml.registry import model_inputs
from customer_ml.segmentation.config import SegmentationConfig
from customer_ml.segmentation.evaluation import robustness_twins, segmentation_evaluation
from customer_ml.segmentation.model import SegmentationModel

FILES = ("features", "kinds", "catalog")


def demo_inputs(n_customers: int) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(features, feature catalog, hidden kinds) built by dbt on generated demo data."""
    from demo_features import build_demo_features  # needs dbt and DuckDB: only when building here

    with tempfile.TemporaryDirectory() as folder:
        features, catalog, kinds = build_demo_features(n_customers, Path(folder))
    return features, catalog, kinds


def run(device: str, features: pa.Table, catalog: list, kinds: pa.Table) -> dict:
    start = time.perf_counter()
    model = SegmentationModel(SegmentationConfig(device=device)).fit(features, catalog)
    seconds = time.perf_counter() - start
    assignments = model.predict(features)
    ari = {
        row["model"]: row["value"]
        for row in segmentation_evaluation(model, features, assignments, kinds)
        if row["metric"] == "adjusted_rand_index"
    }
    metrics = {**model.metrics_, **robustness_twins(model, features)}
    return {
        "device": device,
        "trained_on": str(model.autoencoder_.device_),
        "fit_seconds": round(seconds, 1),
        "seconds_by_stage": {k: round(v, 1) for k, v in metrics["seconds"].items()},
        "autoencoder_epochs": metrics.get("autoencoder_epochs"),
        "segments": metrics.get("n_segments"),
        "representation": metrics.get("representation"),
        "ari_learned": _round(ari.get("learned")),
        "ari_kmeans_standardised": _round(ari.get("kmeans_standardised_features")),
        "ari_kmeans_rfm": _round(ari.get("kmeans_rfm")),
        "robustness_adversarial": _round(metrics.get("robustness_adversarial")),
        "robustness_plain": _round(metrics.get("robustness_plain")),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=10000, help="demo customers to generate")
    parser.add_argument("--export", type=Path, help="build the inputs, save them in this folder, stop")
    parser.add_argument("--features", type=Path, help="folder of inputs saved by --export")
    args = parser.parse_args()

    t0 = time.perf_counter()
    if args.features:
        features, kinds, catalog = (pq.read_table(args.features / f"{name}.parquet") for name in FILES)
        source = f"inputs from {args.features}"
    else:
        features, catalog, kinds = demo_inputs(args.customers)
        source = f"demo data and dbt features in {time.perf_counter() - t0:.1f} s"
    if args.export:
        args.export.mkdir(parents=True, exist_ok=True)
        for name, table in zip(FILES, (features, kinds, catalog), strict=True):
            pq.write_table(table, args.export / f"{name}.parquet")
        print(f"{features.num_rows} customers; inputs saved in {args.export}")
        return

    print(f"torch {torch.__version__}; CUDA available: {torch.cuda.is_available()}")
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name(0)}")
    print(f"{features.num_rows} customers; {source}")
    specs = model_inputs(catalog)
    results = [run("cpu", features, specs, kinds)]
    if torch.cuda.is_available():
        results.append(run("cuda", features, specs, kinds))
    else:
        print("CUDA is not available: CPU half only (install a CUDA build of torch, see the README)")
    for result in results:
        print(json.dumps(result), flush=True)
    if len(results) == 2:
        print(f"speed-up on CUDA: {results[0]['fit_seconds'] / results[1]['fit_seconds']:.2f}x")


if __name__ == "__main__":
    main()
