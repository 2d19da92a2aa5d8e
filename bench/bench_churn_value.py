"""Churn and value training on a built warehouse: wall and CPU seconds, and the backtest it stores.

    PYTHONPATH=src .venv/bin/python bench/bench_churn_value.py WAREHOUSE.duckdb [--fit-customers N]

Reads the tables `churn_value_model_versions` reads (int_customers_features, int_customers_outcomes,
stg_raw__transactions, int_feature_catalog) from a warehouse a `dbt build` wrote, and runs the same
`customer_ml.value.predictions.train_version` (backtest, then the churn and value models), printing its
progress lines, the wall and CPU time (user + system of this process, every thread) and the backtest
rows of the churn and value models against their baselines.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import duckdb

from customer_ml.value.churn import ChurnConfig
from customer_ml.value.predictions import train_version
from customer_ml.warehouse.arrow import feature_catalog, purchase_log, to_arrow


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("warehouse")
    parser.add_argument("--fit-customers", type=int, default=ChurnConfig.max_fit_customers)
    parser.add_argument("--horizon-days", type=int, default=90)
    args = parser.parse_args()
    with duckdb.connect(args.warehouse, read_only=True) as con:
        by_snapshot = "snapshot_name, customer_id"
        features = to_arrow(con.table("intermediate.int_customers_features").order(by_snapshot))
        outcomes = to_arrow(con.table("intermediate.int_customers_outcomes").order(by_snapshot))
        purchases = purchase_log(con.table("staging.stg_raw__transactions"))
        catalog = feature_catalog(con.table("intermediate.int_feature_catalog"))
    wall, cpu = time.perf_counter(), cpu_seconds()
    cap, horizon = args.fit_customers, args.horizon_days
    row = train_version(features, outcomes, purchases, catalog, None, horizon, "benchmark", print, cap)
    print(f"train_version: wall {time.perf_counter() - wall:.0f} s, CPU {cpu_seconds() - cpu:.0f} s")
    for r in json.loads(row.column("metrics")[0].as_py())["backtest"]:
        if r["metric"] in ("auc_roc", "pr_auc", "spearman", "top20_capture"):
            print(f"{r['task']:<6} {r['model']:<28} {r['metric']:<14} {r['value']:.4f}")


if __name__ == "__main__":
    main()
