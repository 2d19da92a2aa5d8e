"""GPU check: trains the segmentation model on CUDA and on the CPU on the same demo features and prints
both speeds and the same metrics. Meant for a lent GPU machine; finishes in well under two minutes.

    .venv/bin/python bench/gpu_check.py [n_customers]     (default 20000)

Needs a CUDA build of torch (see README, "Running on a GPU"); without CUDA it says so and runs the CPU
half only. The features are computed with the project's own dbt models on generated demo data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import torch

from segmentation import demo_data
from segmentation.config import SegmentationConfig
from segmentation.model import SegmentationModel
from segmentation.registry import model_inputs
from segmentation.warehouse import current_snapshot, to_arrow

PROJECT = Path(__file__).resolve().parents[1]


def features_for(n_customers: int, work: Path) -> tuple:
    """Current-snapshot customer features and the feature catalog, built by dbt on demo data."""
    raw = demo_data.write(work / "raw", n_customers=n_customers, seed=42)
    env = {**os.environ, "SEGMENTATION_DB_PATH": str(work / "gpu_check.duckdb")}
    subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "build",
            "--select",
            "+int_customers_features",
            "+int_feature_catalog",
            "--exclude",
            "test_type:data",
            "--vars",
            json.dumps({"raw_data_path": str(raw)}),
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
            "--quiet",
        ],
        cwd=PROJECT,
        env=env,
        check=True,
    )
    with duckdb.connect(str(work / "gpu_check.duckdb"), read_only=True) as con:
        features = current_snapshot(con.table("intermediate.int_customers_features"))
        catalog = to_arrow(con.table("intermediate.int_feature_catalog"))
    return features, model_inputs(catalog)


def run(device: str, features, catalog) -> dict:
    start = time.perf_counter()
    model = SegmentationModel(SegmentationConfig(device=device)).fit(features, catalog)
    seconds = time.perf_counter() - start
    metrics = model.metrics_
    return {
        "device": device,
        "fit_seconds": round(seconds, 1),
        "segments": metrics.get("n_segments"),
        "representation": metrics.get("representation"),
        "robustness_adversarial": round(metrics.get("robustness_adversarial", float("nan")), 4),
        "robustness_plain": round(metrics.get("robustness_plain", float("nan")), 4),
    }


def main(n_customers: int) -> None:
    print(f"torch {torch.__version__}; CUDA available: {torch.cuda.is_available()}")
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name(0)}")
    with tempfile.TemporaryDirectory() as folder:
        features, catalog = features_for(n_customers, Path(folder))
    print(f"{features.num_rows} customers")
    results = [run("cpu", features, catalog)]
    if torch.cuda.is_available():
        results.append(run("cuda", features, catalog))
    for result in results:
        print(json.dumps(result))
    if len(results) == 2:
        print(f"speed-up on CUDA: {results[0]['fit_seconds'] / results[1]['fit_seconds']:.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
