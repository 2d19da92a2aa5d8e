"""Demo features for the segmentation benchmarks: generated demo data, run through the project's own dbt
feature models into a scratch DuckDB file (the user's warehouse is never touched)."""

from __future__ import annotations

import _paths  # noqa: F401  (the repository root on sys.path, for tools.demo_data)

# isort: split
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from customer_ml.warehouse.arrow import current_snapshot, to_arrow
from tools import demo_data

PROJECT = Path(__file__).resolve().parents[1]


def dbt_build_folder(raw: Path, work: Path, select: list[str] | None = None) -> Path:
    """`dbt build` the project (only the `select`ed models when given; no data tests) on the raw files in
    `raw`, into a scratch database in `work`, which also holds dbt's files. Returns the database."""
    database = work / "bench.duckdb"
    database.unlink(missing_ok=True)
    env = {**os.environ, "SEGMENTATION_DB_PATH": str(database)}
    subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "build",
            *(["--select", *select] if select else []),
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
    return database


def build_demo(n_customers: int, work: Path, select: list[str], seed: int = 42) -> tuple[Path, Path]:
    """Generate `n_customers` demo customers with `seed` into `work`/raw and `dbt build` the `select`ed
    models (no data tests) into a scratch database there. Returns (database, raw folder)."""
    raw = Path(demo_data.write(work / "raw", n_customers=n_customers, seed=seed))
    return dbt_build_folder(raw, work, select), raw


def build_demo_features(n_customers: int, work: Path, seed: int = 42) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(current-snapshot customer features, feature catalog table, hidden kinds) of `n_customers` demo
    customers generated with `seed`; `work` holds the raw files, the scratch database and dbt's files.
    `customer_ml.registry.model_inputs(catalog)` gives the catalog's model inputs."""
    database, raw = build_demo(n_customers, work, ["+int_customers_features", "+int_feature_catalog"], seed)
    with duckdb.connect(str(database), read_only=True) as con:
        features = current_snapshot(con.table("intermediate.int_customers_features"))
        catalog = to_arrow(con.table("intermediate.int_feature_catalog"))
    kinds = pq.read_table(raw / "_truth" / "customer_kinds.parquet")
    return features, catalog, kinds


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
