"""GPU check: trains the segmentation model on CUDA and on the CPU on the same demo features and prints
both speeds and the same metrics (segments, recovery of the demo's hidden kinds, robustness with and
without the adversarial term). Meant for a lent GPU machine; about a minute there.

    .venv/bin/python bench/gpu_check.py [n_customers]     (default 10000)

Needs a CUDA build of torch (see README, "Running on a GPU"); without CUDA it says so and runs the CPU
half only. The features are computed with the project's own dbt models on generated demo data.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from demo_features import build_demo_features

from segmentation.config import SegmentationConfig
from segmentation.evaluation import segmentation_evaluation
from segmentation.model import SegmentationModel


def run(device: str, features, catalog, kinds) -> dict:
    start = time.perf_counter()
    model = SegmentationModel(SegmentationConfig(device=device)).fit(features, catalog)
    seconds = time.perf_counter() - start
    assignments = model.predict(features)
    ari = {
        row["model"]: row["value"]
        for row in segmentation_evaluation(model, features, assignments, kinds)
        if row["metric"] == "adjusted_rand_index"
    }
    metrics = model.metrics_
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


def main(n_customers: int) -> None:
    print(f"torch {torch.__version__}; CUDA available: {torch.cuda.is_available()}")
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name(0)}")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        features, catalog, kinds = build_demo_features(n_customers, Path(folder))
    print(f"{features.num_rows} customers; demo data and dbt features in {time.perf_counter() - t0:.1f} s")
    results = [run("cpu", features, catalog, kinds)]
    if torch.cuda.is_available():
        results.append(run("cuda", features, catalog, kinds))
    else:
        print("CUDA is not available: CPU half only (install a CUDA build of torch, see the README)")
    for result in results:
        print(json.dumps(result))
    if len(results) == 2:
        print(f"speed-up on CUDA: {results[0]['fit_seconds'] / results[1]['fit_seconds']:.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10000)
