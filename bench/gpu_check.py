"""GPU check: trains the segmentation model on CUDA and on the CPU on the same demo features and prints
both speeds and the same metrics (segments, recovery of the demo's hidden kinds, robustness with and
without the adversarial term), and whether the stored model applies to the same segments on its own
device and on the CPU. Meant for a lent GPU machine; measured there (an H100, README "Running on a
GPU"): 1 min 30 s for both halves at once (`--together`) at 10,000 demo customers.

    .venv/bin/python bench/gpu_check.py [--customers N] [--devices cuda,cpu] [--repeat] [--together]

builds the demo features with the project's dbt models (default 10000 customers), then trains on each
device in `--devices` order; `--repeat` fits twice on each and says whether the weights are the same;
`--together` runs the halves at once, each in a process of its own (both train on one thread: on a GPU
machine's spare cores the check then takes about as long as its slower half, the CUDA one). A
GPU machine often has torch, scikit-learn and pyarrow but neither dbt nor DuckDB; then build the
features here and carry them:

    .venv/bin/python bench/gpu_check.py --export DIR                  (here: features, kinds, catalog)
    PYTHONPATH=src:bench python3 bench/gpu_check.py --features DIR    (there: no dbt, no DuckDB needed)

Needs a CUDA build of torch (see README, "Running on a GPU"); without CUDA it says so and runs the CPU
half only.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from sklearn.metrics import adjusted_rand_score

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


def run(device: str, features: pa.Table, catalog: list, kinds: pa.Table, repeat: bool = False) -> dict:
    """Fit on `device`, apply, and check what a build relies on: the stored record applies to the same
    segments on the same device and on the CPU (a model trained on a GPU is applied by CPU builds), and,
    with `repeat`, a second fit gives the same weights."""
    start = time.perf_counter()
    model = SegmentationModel(SegmentationConfig(device=device)).fit(features, catalog)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    assignments = model.predict(features)
    predict_seconds = time.perf_counter() - start
    segments = assignments.column("segment_id").to_numpy()
    record = model.to_record()
    reloaded = {
        target: _same(SegmentationModel.from_record(record, device=target).predict(features), segments)
        for target in dict.fromkeys((device, "cpu"))
    }
    ari = {
        row["model"]: row["value"]
        for row in segmentation_evaluation(model, features, assignments, kinds)
        if row["metric"] == "adjusted_rand_index"
    }
    start = time.perf_counter()
    metrics = {**model.metrics_, **robustness_twins(model, features)}
    twins_seconds = time.perf_counter() - start
    result = {
        "device": device,
        "trained_on": str(model.autoencoder_.device_),
        "fit_seconds": round(fit_seconds, 1),
        "seconds_by_stage": {k: round(v, 1) for k, v in metrics["seconds"].items()},
        "predict_seconds": round(predict_seconds, 1),
        "twins_seconds": round(twins_seconds, 1),
        "autoencoder_epochs": metrics.get("autoencoder_epochs"),
        "segments": metrics.get("n_segments"),
        "representation": metrics.get("representation"),
        "ari_learned": _round(ari.get("learned")),
        "ari_kmeans_standardised": _round(ari.get("kmeans_standardised_features")),
        "ari_kmeans_rfm": _round(ari.get("kmeans_rfm")),
        "robustness_adversarial": _round(metrics.get("robustness_adversarial")),
        "robustness_plain": _round(metrics.get("robustness_plain")),
        "reloaded_same_segments": reloaded,
    }
    if repeat:
        again = SegmentationModel(SegmentationConfig(device=device)).fit(features, catalog)
        result["repeat_same_weights"] = again.to_record()["weights"] == record["weights"]
        result["repeat_same_segments"] = _same(again.predict(features), segments)
    return result | {"_segments": segments}


def _same(assignments: pa.Table, segments: np.ndarray) -> float:
    """Share of customers given the same segment as `segments`."""
    return round(float((assignments.column("segment_id").to_numpy() == segments).mean()), 6)


def _show(result: dict) -> None:
    print(json.dumps({k: v for k, v in result.items() if k != "_segments"}), flush=True)


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=10000, help="demo customers to generate")
    parser.add_argument("--export", type=Path, help="build the inputs, save them in this folder, stop")
    parser.add_argument("--features", type=Path, help="folder of inputs saved by --export")
    parser.add_argument("--devices", default="cpu,cuda", help="devices to train on, in this order")
    parser.add_argument("--repeat", action="store_true", help="fit twice on each device: same weights?")
    parser.add_argument("--together", action="store_true", help="run the devices' halves at once")
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
    devices = []
    for device in args.devices.split(","):
        if device.startswith("cuda") and not torch.cuda.is_available():
            print("CUDA is not available: no CUDA half (install a CUDA build of torch, see the README)")
        else:
            devices.append(device)
    if args.together and len(devices) > 1:
        # Each half in a process of its own: both train on one thread, so on a machine with cores to
        # spare (a GPU machine) the check takes about as long as its slower half.
        with ProcessPoolExecutor(len(devices), mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(run, d, features, specs, kinds, args.repeat) for d in devices]
            for future in as_completed(futures):
                _show(future.result())
            results = [future.result() for future in futures]
    else:
        results = []
        for device in devices:
            results.append(run(device, features, specs, kinds, args.repeat))
            _show(results[-1])
    if len(results) == 2:
        first, second = results
        agreement = adjusted_rand_score(first["_segments"], second["_segments"])
        print(f"{first['device']} and {second['device']} segments agree: ARI {agreement:.4f}")
        speed = first["fit_seconds"] / second["fit_seconds"]
        print(f"fit on {second['device']} against {first['device']}: {speed:.2f}x")


if __name__ == "__main__":
    main()
