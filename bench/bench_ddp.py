"""Data-parallel pretraining of the segmentation autoencoder (torch DDP, gloo, CPU processes) against one
process, on a built warehouse's customer features: wall time, agreement of the loss curves and weights,
and of the segments (k-means on each embedding), beside two single-process controls (the inputs moved by
one float32 step; another seed) that show how far training moves from itself.

    PYTHONPATH=src .venv/bin/python bench/bench_ddp.py WAREHOUSE.duckdb [--processes 2] [--rows 20000]

The inputs are the model's own (the current snapshot of int_customers_features, preprocessed as the
catalog says, on a seeded sample of --rows customers as the segmentation model trains on). Prints one
table row per run; docs/scaling.md quotes them.
"""

from __future__ import annotations

import argparse
import time

import _paths  # noqa: F401 - the repository root on sys.path
import duckdb
import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from customer_ml.distributed.ddp import fit_autoencoder_ddp
from customer_ml.features.preprocessing import FeaturePreprocessor, load_catalog
from customer_ml.nn.autoencoder import AdversarialAutoencoder
from customer_ml.segmentation.clustering import seeded_sample
from customer_ml.segmentation.config import AutoencoderConfig, SegmentationConfig
from customer_ml.warehouse.arrow import current_snapshot, feature_catalog


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("warehouse")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rows", type=int, default=20_000, help="training sample (the model's default)")
    parser.add_argument("--segments", type=int, default=8)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    with duckdb.connect(args.warehouse, read_only=True) as con:
        table = current_snapshot(con.table("intermediate.int_customers_features"))
        catalog = feature_catalog(con.table("intermediate.int_feature_catalog"))
    table = table.take(seeded_sample(table.num_rows, args.rows, args.seed))
    X = FeaturePreprocessor(SegmentationConfig().preprocessing).fit_transform(table, load_catalog(catalog))
    config = AutoencoderConfig()
    print(f"{X.shape[0]} customers x {X.shape[1]} inputs, {config.max_epochs} epochs at most")

    t0 = time.perf_counter()
    single = AdversarialAutoencoder(config, seed=args.seed, device="cpu", threads=1).fit(X)
    single_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    ddp = fit_autoencoder_ddp(X, config, seed=args.seed, world_size=args.processes)
    ddp_seconds = time.perf_counter() - t0

    losses = [
        abs(b[key] - a[key]) / abs(a[key])
        for a, b in zip(single.history_, ddp.history_, strict=False)
        for key in ("train_loss", "val_loss")
    ]
    weights = max(
        float((single.net_.state_dict()[k] - ddp.net_.state_dict()[k]).abs().max())
        for k in single.net_.state_dict()
    )

    def segments(ae: AdversarialAutoencoder) -> np.ndarray:
        Z = ae.transform(X).astype(np.float64)
        return KMeans(n_clusters=args.segments, n_init=4, random_state=args.seed).fit_predict(Z)

    reference = segments(single)
    print("| run | wall | epochs | largest relative loss difference | largest weight difference | ARI |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| 1 process | {single_seconds:.1f} s | {single.n_epochs_} | - | - | - |")
    print(
        f"| {args.processes} processes (DDP, gloo) | {ddp_seconds:.1f} s | {ddp.n_epochs_} "
        f"| {max(losses):.1e} | {weights:.1e} | {adjusted_rand_score(reference, segments(ddp)):.4f} |"
    )
    # Controls: how far one process moves from itself when the inputs change in their last bit (what the
    # all-reduce's order of additions does to the gradients), and with another seed.
    nudged = np.nextafter(X.astype(np.float32), np.float32(np.inf))
    for name, ae in (
        (
            "1 process, inputs one float32 step up",
            AdversarialAutoencoder(config, seed=args.seed, threads=1).fit(nudged),
        ),
        ("1 process, seed + 1", AdversarialAutoencoder(config, seed=args.seed + 1, threads=1).fit(X)),
    ):
        print(f"| {name} | - | {ae.n_epochs_} | - | - | {adjusted_rand_score(reference, segments(ae)):.4f} |")


if __name__ == "__main__":
    main()
