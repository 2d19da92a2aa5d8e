"""Fraud scoring on larger demo data: held-out metrics against IsolationForest, recall per mechanism.

    .venv/bin/python bench/bench_fraud.py [n_customers]   (default 20000)
    .venv/bin/python bench/bench_fraud.py --warehouse DB --raw DIR   (a demo warehouse already built)
    .venv/bin/python bench/bench_fraud.py --warehouse DB --raw DIR --tile K   (fit time only, K x the data)
    ... --config '{"seed": 7, "anomaly_sample_size": 25000}'   (FraudConfig fields other than the defaults)

Generates the demo data and builds `int_transactions_risk` with the project's dbt models in a scratch
folder (or reads them, read-only, from a warehouse built on the demo data in DIR); the scorer is fitted as
`fraud_model_versions` fits it (labels known before the as-of date, the warehouse's feature catalog),
printing each fit step's elapsed seconds, then the flag rate, precision, recall and average precision on
the generator's truth, over every transaction and over the held-out period (the latest 25% by time).
`--tile K` fits on the warehouse's inputs repeated K times with fresh transaction and customer ids (K
times the customers, transactions and labels) and prints the fit's steps, time and peak memory only.

    .venv/bin/python bench/bench_fraud.py --warehouse DB --fit-memory whole|sampled

fits as `fraud_model_versions` does on the warehouse's tables and prints the fit's time and the process's
peak memory, reading the risk table either whole into memory (`whole`, as the model did before) or as
its key columns with the sampled rows fetched from DuckDB (`sampled`, customer_ml.fraud.versions.risk_rows,
as it does now). Run each in its own process: the peak is the process's.
"""

from __future__ import annotations

import _paths  # noqa: F401  (the repository root on sys.path, for tools.demo_data)

# isort: split
import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from demo_features import build_demo
from sklearn.metrics import average_precision_score

from customer_ml.fraud.config import FraudConfig
from customer_ml.fraud.scorer import FraudScorer
from customer_ml.warehouse.arrow import feature_catalog, known_labels, to_arrow
from tools.demo_data import MECHANISMS


def read_inputs(database: Path, with_catalog: bool) -> tuple[pa.Table, pa.Table, pa.Table | None]:
    """(int_transactions_risk, the labels known at the current as-of date, the feature catalog or None)."""
    with duckdb.connect(str(database), read_only=True) as con:
        risk = to_arrow(con.table("intermediate.int_transactions_risk").order("transaction_id"))
        as_of = con.sql("select as_of_date from intermediate.int_as_of_dates where is_current").fetchone()[0]
        labels = known_labels(con.table("staging.stg_raw__fraud_labels"), as_of)
        catalog = feature_catalog(con.table("intermediate.int_feature_catalog")) if with_catalog else None
    return risk, labels, catalog


def truth_report(scorer: FraudScorer, risk: pa.Table, out: pa.Table, fraud: np.ndarray) -> None:
    """Flag rate against the true fraud rate, precision, recall and average precision of the scores `out`
    on the truth `fraud`."""
    score = out.column("fraud_score").to_numpy()
    flagged = np.asarray(out.column("is_flagged").to_numpy(zero_copy_only=False), bool)
    at = np.asarray(pc.cast(risk.column("transacted_at"), pa.int64()).to_numpy(zero_copy_only=False))
    held = set(scorer.holdout_transaction_ids_)
    ids = risk.column("transaction_id").to_pylist()
    cut = min((t for t, i in zip(at, ids, strict=True) if i in held), default=at.max() + 1)
    for part, rows in (("all", np.ones(len(at), bool)), ("held-out period", at >= cut)):
        y, f = fraud[rows], flagged[rows]
        if not y.any():
            continue
        hits = float(np.sum(y & f))
        print(
            f"{part:16s} {rows.sum():9,d} transactions: true fraud rate {y.mean():.4f}, "
            f"flag rate {f.mean():.4f}, "
            f"precision {hits / max(f.sum(), 1):.4f}, recall {hits / y.sum():.4f}, "
            f"average precision {average_precision_score(y, score[rows]):.4f}"
        )


def tiled(table: pa.Table, columns: list[str], k: int) -> pa.Table:
    """`table` repeated k times, "~i" appended to `columns` in the i-th copy."""
    parts = []
    for i in range(k):
        part = table
        for name in columns:
            text = pc.cast(part.column(name), pa.string())
            suffixed = pc.binary_join_element_wise(text, pa.scalar(f"~{i}"), "")
            part = part.set_column(part.schema.get_field_index(name), name, suffixed)
        parts.append(part)
    return pa.concat_tables(parts)


def fraud_config(overrides: str | None) -> FraudConfig:
    """The default FraudConfig with the fields of the JSON object `overrides` (the autoencoder's as a
    nested object)."""
    fields = json.loads(overrides or "{}")
    if "autoencoder" in fields:
        fields["autoencoder"] = dataclasses.replace(FraudConfig().autoencoder, **fields["autoencoder"])
    return dataclasses.replace(FraudConfig(), **fields)


def timed_fit(
    config: FraudConfig, read: Any, catalog: Any, labels: pa.Table
) -> tuple[Any, float, float, float]:
    """(the fitted scorer, wall and CPU seconds of read() and the fit, the process's peak memory in GiB)."""
    import resource

    start, cpu = time.perf_counter(), time.process_time()
    scorer = FraudScorer(config).fit(read(), catalog, labels, lambda line: print(f"fit: {line}"))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return scorer, wall, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def fit_tiled(warehouse: Path, k: int, config: FraudConfig) -> None:
    risk, labels, catalog = read_inputs(warehouse, with_catalog=True)
    risk = tiled(risk, ["transaction_id", "customer_id"], k)
    risk = risk.take(pc.sort_indices(risk, [("transaction_id", "ascending")]))
    labels = tiled(labels, ["transaction_id"], k)
    print(f"{risk.num_rows:,} transactions, {labels.num_rows:,} labels")
    scorer, wall, cpu, peak = timed_fit(config, lambda: risk, catalog, labels)
    print(
        f"fit {wall:.1f} s wall, {cpu:.1f} s CPU; flag rate {scorer.flag_rate_:.4f}; "
        f"peak memory {peak:.2f} GiB"
    )


def fit_memory(warehouse: Path, read: str, config: FraudConfig) -> None:
    from customer_ml.fraud.versions import risk_columns, risk_rows

    with duckdb.connect(str(warehouse), read_only=True) as con:
        # As profiles.yml sets them for the build.
        con.execute("set memory_limit = '4GB'; set threads = 2")
        as_of = con.sql("select as_of_date from intermediate.int_as_of_dates where is_current").fetchone()[0]
        labels = known_labels(con.table("staging.stg_raw__fraud_labels"), as_of)
        catalog = feature_catalog(con.table("intermediate.int_feature_catalog"))
        relation = con.table("intermediate.int_transactions_risk")
        scorer, wall, cpu, peak = timed_fit(
            config,
            lambda: to_arrow(risk_columns(relation)) if read == "whole" else risk_rows(relation, con),
            catalog,
            labels,
        )
    print(
        f"read {read}: {scorer.n_fit_transactions_:,} transactions; "
        f"read and fit {wall:.1f} s wall, {cpu:.1f} s CPU; "
        f"flag rate {scorer.flag_rate_:.4f}; peak memory {peak:.2f} GiB (DuckDB included)"
    )


def main(n_customers: int, warehouse: Path | None, raw: Path | None, config: FraudConfig) -> None:
    if warehouse is not None:
        risk, labels, catalog = read_inputs(warehouse, with_catalog=True)
        truth_table = pq.read_table(raw / "_truth" / "transaction_fraud.parquet")
    else:
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            targets = ["+int_transactions_risk", "+stg_raw__fraud_labels"]
            database, raw = build_demo(n_customers, work, targets)
            risk, labels, catalog = read_inputs(database, with_catalog=False)
            truth_table = pq.read_table(raw / "_truth" / "transaction_fraud.parquet")
    start, cpu = time.perf_counter(), time.process_time()
    scorer = FraudScorer(config).fit(risk, catalog, labels, lambda line: print(f"fit: {line}"))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"{risk.num_rows} transactions; {len(scorer.holdout_transaction_ids_)} held out; flag rate "
        f"{scorer.flag_rate_:.4f}; fit {wall:.1f} s ({cpu:.1f} s CPU)"
    )
    for r in scorer.evaluate().to_pylist():
        value = r["value"] if r["value"] is None else round(r["value"], 4)
        print(f"{r['model']:18s} {r['metric']:24s} {value}")
    out = scorer.score(risk)
    mechanism_of = dict(
        zip(
            truth_table.column("transaction_id").to_pylist(),
            truth_table.column("mechanism").to_pylist(),
            strict=True,
        )
    )
    mech = [mechanism_of.get(t) for t in out.column("transaction_id").to_pylist()]
    fraud_of = dict(
        zip(
            truth_table.column("transaction_id").to_pylist(),
            truth_table.column("is_fraud").to_pylist(),
            strict=True,
        )
    )
    truth_report(
        scorer, risk, out, np.array([bool(fraud_of[t]) for t in out.column("transaction_id").to_pylist()])
    )
    score = out.column("fraud_score").to_numpy()
    flagged = out.column("is_flagged").to_numpy(zero_copy_only=False)
    baseline = scorer.baseline_score(risk)
    alert, base_alert = score >= scorer.alert_threshold_, baseline >= scorer.baseline_alert_threshold_
    unseen = ~np.isin(np.asarray(out.column("transaction_id").to_pylist()), scorer.train_transaction_ids_)
    print("mechanism          part       n  recall@alert blend  iforest  recall@flag blend")
    for m in MECHANISMS:
        for part, keep in (("all", np.ones(len(mech), bool)), ("unseen", unseen)):
            rows = np.array([x == m for x in mech]) & keep
            print(
                f"{m:18s} {part:6s} {rows.sum():5d} {alert[rows].mean():.3f} {base_alert[rows].mean():.3f} "
                f"{flagged[rows].mean():.3f}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_customers", nargs="?", type=int, default=20000)
    parser.add_argument("--warehouse", type=Path, help="a built demo warehouse (opened read-only)")
    parser.add_argument("--raw", type=Path, help="the demo data it was built on (for the truth)")
    parser.add_argument("--tile", type=int, default=1, help="fit on K copies of the warehouse's inputs")
    parser.add_argument("--config", help="FraudConfig fields as a JSON object, e.g. '{\"seed\": 7}'")
    parser.add_argument("--fit-memory", choices=("whole", "sampled"), help="the fit's peak memory only")
    args = parser.parse_args()
    config = fraud_config(args.config)
    if args.fit_memory:
        if args.warehouse is None:
            parser.error("--fit-memory needs --warehouse")
        fit_memory(args.warehouse, args.fit_memory, config)
        raise SystemExit(0)
    if (args.warehouse is None) != (args.raw is None):
        parser.error("--warehouse and --raw go together")
    if args.tile > 1:
        if args.warehouse is None:
            parser.error("--tile needs --warehouse")
        fit_tiled(args.warehouse, args.tile, config)
    else:
        main(args.n_customers, args.warehouse, args.raw, config)
