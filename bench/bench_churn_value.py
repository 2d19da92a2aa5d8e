"""Churn and value training and scoring on a built warehouse: wall and CPU seconds, peak memory, and the
backtest it stores.

    PYTHONPATH=src .venv/bin/python bench/bench_churn_value.py WAREHOUSE.duckdb [--fit-customers N]
        [--value-fit-customers N] [--backtest-customers N] [--save-version FILE]
    PYTHONPATH=src .venv/bin/python bench/bench_churn_value.py WAREHOUSE.duckdb --score FILE|stored

The first form reads what `churn_value_model_versions` reads (the backtest and training snapshots of
int_customers_features and int_customers_outcomes, stg_raw__transactions, int_feature_catalog), the same
way, from a warehouse a `dbt build` wrote (read-only), and runs the same
`customer_ml.value.predictions.train_version` (backtest, then the churn and value models), printing its
progress lines, the wall and CPU time (user + system of this process, every thread), the peak resident
memory of the process, and the backtest rows of the churn and value models against their baselines;
`--save-version` writes the version row to FILE. The second form is `churn_value_model_predictions`:
it scores the current snapshot, streamed in batches, with the version in FILE (or the warehouse's own
latest stored version), and prints the same figures. Run each form in its own process: the peak memory
is the process's.
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import time

import duckdb

from customer_ml.registry import latest_version
from customer_ml.value.churn import BACKTEST_EVAL_CUSTOMERS, ChurnConfig, ValueConfig
from customer_ml.value.predictions import APPLY_BATCH_ROWS, KIND, apply_version, train_version
from customer_ml.warehouse.arrow import (
    current_as_of_date,
    current_batches,
    feature_catalog,
    purchase_log,
    snapshot_tables,
)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # ru_maxrss is in KiB on Linux


def train(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> None:
    wall, cpu = time.perf_counter(), cpu_seconds()
    as_of_date = current_as_of_date(con.table("intermediate.int_as_of_dates"))
    features = snapshot_tables(con.table("intermediate.int_customers_features"))
    outcomes = snapshot_tables(con.table("intermediate.int_customers_outcomes"))
    purchases = purchase_log(con.table("staging.stg_raw__transactions"))
    catalog = feature_catalog(con.table("intermediate.int_feature_catalog"))
    print(f"read: wall {time.perf_counter() - wall:.1f} s, CPU {cpu_seconds() - cpu:.1f} s")
    cap, horizon = args.fit_customers, args.horizon_days
    row = train_version(
        features,
        outcomes,
        purchases,
        catalog,
        None,
        horizon,
        "benchmark",
        print,
        cap,
        as_of_date,
        max_value_fit_customers=args.value_fit_customers,
        max_backtest_customers=args.backtest_customers or None,
    )
    print(
        f"train_version (read included): wall {time.perf_counter() - wall:.1f} s, "
        f"CPU {cpu_seconds() - cpu:.1f} s, peak {peak_gib():.2f} GiB"
    )
    if args.save_version:
        with open(args.save_version, "wb") as out:
            pickle.dump(row.to_pylist()[0], out)
    metrics = json.loads(row.column("metrics")[0].as_py())
    print("chosen by the backtest:", metrics.get("chosen_by_backtest"))
    for r in metrics["backtest"]:
        if r["metric"] in ("auc_roc", "pr_auc", "spearman", "top20_capture"):
            print(f"{r['task']:<6} {r['model']:<28} {r['metric']:<14} {r['value']:.4f}")


def score(con: duckdb.DuckDBPyConnection, source: str) -> None:
    if source == "stored":
        version = latest_version(con.table("ml.churn_value_model_versions"), KIND)
    else:
        with open(source, "rb") as stored:
            version = pickle.load(stored)  # noqa: S301 - a file this benchmark wrote
    wall, cpu = time.perf_counter(), cpu_seconds()
    purchases = purchase_log(con.table("staging.stg_raw__transactions"))
    batches, rows = current_batches(con.table("intermediate.int_customers_features"), APPLY_BATCH_ROWS)
    scores = apply_version(version, batches, purchases, print, rows)
    print(
        f"apply_version (read included): {scores.num_rows:,} customers, wall "
        f"{time.perf_counter() - wall:.1f} s, CPU {cpu_seconds() - cpu:.1f} s, peak {peak_gib():.2f} GiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("warehouse")
    parser.add_argument("--fit-customers", type=int, default=ChurnConfig.max_fit_customers)
    parser.add_argument("--value-fit-customers", type=int, default=ValueConfig.max_fit_customers)
    parser.add_argument(
        "--backtest-customers",
        type=int,
        default=BACKTEST_EVAL_CUSTOMERS,
        help="customers the backtest is evaluated on at most (0: every one)",
    )
    parser.add_argument("--horizon-days", type=int, default=90)
    parser.add_argument("--save-version", help="write the trained version row (pickle) to this file")
    parser.add_argument("--score", help="score with the version in this file ('stored': the warehouse's)")
    args = parser.parse_args()
    with duckdb.connect(args.warehouse, read_only=True) as con:
        if args.score:
            score(con, args.score)
        else:
            train(con, args)


if __name__ == "__main__":
    main()
