"""Generated fraud data whose labels come from a biased review process, and population metrics of a
fitted `FraudScorer` against the ground truth. Used by `bench_fraud_review.py` and
`tests/test_fraud_review.py`.

The demo generator plants four fraud mechanisms and keeps the full truth in `DemoData.truth`; its own
`fraud_labels` are a class-balanced sample. Here the labels are re-drawn as a review team would leave them:

- reviewed: the matured transactions (older than `delay_days`) that a legacy rule score puts in its top
  `review_share` are reviewed, and get their true label, fraud or not;
- reported: each matured fraudulent purchase is reported by its card holder with probability `report_rate`
  (seeded), and gets a fraud label;
- everything else is unlabelled, which is not the same as legitimate: unreported fraud outside the review
  queue stays unlabelled.

So the labelled rows are far richer in fraud than the population, and the legitimate labels all sit where
the legacy rules fire.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.metrics import average_precision_score, precision_recall_curve

RISK_SQL = Path(__file__).resolve().parents[1] / "models/intermediate/transactions/int_transactions_risk.sql"


def render_model(path: Path) -> str:
    """A dbt model's SQL rendered with plain Jinja: `ref('x')` becomes the relation name x, and the
    project macros the model calls (from macros/, by name) are defined in front of it. Enough for a model
    whose Jinja is loops, sets and such macros; anything else dbt-specific fails to render, loudly."""
    text = path.read_text()
    macros_dir = Path(__file__).resolve().parents[1] / "macros"
    defined = {}
    for macro_file in sorted(macros_dir.rglob("*.sql")):
        for name in re.findall(r"\{%-?\s*macro\s+(\w+)\s*\(", macro_file.read_text()):
            defined[name] = macro_file
    called = set(re.findall(r"\{\{-?\s*(\w+)\s*\(", text)) - {"ref", "log", "config"}
    missing = called - set(defined)
    if missing:
        raise RuntimeError(f"{path.name} calls {sorted(missing)}, which are not project macros")
    # The macros' files, and those of the macros they call in turn (a dispatched macro may call another).
    files: set[Path] = set()
    frontier = {defined[n] for n in called}
    while frontier:
        files |= frontier
        inner = {n for f in frontier for n in re.findall(r"\{\{-?\s*(\w+)\s*\(", f.read_text())}
        frontier = {defined[n] for n in inner if n in defined} - files
    prelude = "".join(macro_file.read_text() for macro_file in sorted(files))
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"])
    # dbt's `return()` hands a macro's value back; rendered, that is the value's text.
    environment.globals["return"] = lambda value: value
    adapter = _DuckDBDispatch()
    # dbt's context where a model reads it: no stored table to build on (var() and is_incremental() give
    # false: the incremental_ switches), DuckDB as the target, the model's code for its fingerprint, log()
    # and config() silent.
    context = {
        "ref": lambda name: name,
        "config": lambda **settings: "",
        "target": {"type": "duckdb"},
        "is_incremental": lambda: False,
        "adapter": adapter,
        "var": lambda name, default=None: False,
        "log": lambda message, info=False: "",
        "local_md5": lambda value: hashlib.md5(value.encode()).hexdigest(),
        "model": {"raw_code": text},
    }
    adapter.macros = environment.from_string(prelude).make_module(context)
    return environment.from_string(prelude + text).render(context)


class _DuckDBDispatch:
    """`adapter.dispatch(name, package)` as dbt-duckdb resolves it: the macro's duckdb__ version, else its
    default__ one (macros/cross_db/, macros/not_materialized.sql)."""

    macros = None

    def dispatch(self, name: str, package: str | None = None):
        return getattr(self.macros, f"duckdb__{name}", None) or getattr(self.macros, f"default__{name}")


def risk_table(transactions: pa.Table, customers: pa.Table | None = None) -> pa.Table:
    """int_transactions_risk computed by the model's SQL in plain DuckDB (no dbt): refs become views over
    the raw tables (staging adds is_purchase; the as-of date is the day after the latest transaction)."""
    sql = render_model(RISK_SQL)
    if customers is None:
        customers = pa.table(
            {
                "customer_id": pa.array([], pa.string()),
                "signed_up_at": pa.array([], pa.timestamp("us")),
                "country": pa.array([], pa.string()),
            }
        )
    con = duckdb.connect()
    try:
        con.register("raw_transactions", transactions)
        con.register("raw_customers", customers)
        con.execute(
            "create view stg_raw__transactions as select *, status = 'completed' as is_purchase "
            "from raw_transactions"
        )
        con.execute("create view stg_raw__customers as select * from raw_customers")
        con.execute(
            "create view int_as_of_dates as select cast(max(transacted_at) as date) + 1 as as_of_date, "
            "true as is_current from raw_transactions"
        )
        return con.execute(f"select * from ({sql}) order by transaction_id").fetch_arrow_table()
    finally:
        con.close()


def truth_of(risk: pa.Table, transaction_fraud: pa.Table) -> tuple[np.ndarray, list[str | None]]:
    """(is_fraud, mechanism) of every row of `risk`, from the generator's `transaction_fraud` truth."""
    pos = pc.index_in(risk.column("transaction_id"), value_set=transaction_fraud.column("transaction_id"))
    pos_np = np.asarray(pc.fill_null(pos, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    if (pos_np < 0).any():
        raise ValueError(f"{int((pos_np < 0).sum())} risk rows have no ground truth")
    fraud = np.asarray(transaction_fraud.column("is_fraud").to_numpy(zero_copy_only=False), bool)[pos_np]
    mechanism = transaction_fraud.column("mechanism").take(pa.array(pos_np)).to_pylist()
    return fraud, mechanism


def legacy_rule_score(risk: pa.Table) -> np.ndarray:
    """The review queue's legacy score: how many of five fixed rules fire (velocity, shared device, new
    device with a foreign IP, earlier chargebacks, amount spike)."""

    def col(name: str) -> np.ndarray:
        return np.nan_to_num(
            np.asarray(pc.cast(risk.column(name), pa.float64()).to_numpy(zero_copy_only=False))
        )

    return (
        (col("customer_transactions_last_hour") >= 3).astype(float)
        + (col("device_customers") >= 3)
        + ((col("is_first_device_use") == 1) & (col("is_foreign_ip") == 1))
        + (col("prior_chargebacks") >= 1)
        + (col("amount_zscore") >= 3)
    )


def review_labels(
    risk: pa.Table,
    is_fraud: np.ndarray,
    seed: int = 0,
    review_share: float = 0.02,
    report_rate: float = 0.4,
    delay_days: int = 30,
) -> pa.Table:
    """fraud_labels (transaction_id, is_fraud, labeled_at) left by a biased review process (module doc)."""
    rng = np.random.default_rng(seed)
    at = risk.column("transacted_at").to_pylist()
    as_of = max(at).date() + dt.timedelta(days=1)
    cutoff = dt.datetime.combine(as_of - dt.timedelta(days=delay_days), dt.time())
    matured = np.array([t < cutoff for t in at])
    legacy = legacy_rule_score(risk) + rng.random(risk.num_rows) * 0.5  # ties broken at random
    legacy[~matured] = -np.inf
    n_review = int(round(review_share * matured.sum()))
    reviewed = np.zeros(risk.num_rows, bool)
    reviewed[np.argsort(-legacy, kind="stable")[:n_review]] = True
    reported = matured & is_fraud & (rng.random(risk.num_rows) < report_rate)
    labelled = np.flatnonzero(reviewed | reported)
    lag = 10 + rng.random(len(labelled)) * 20
    return pa.table(
        {
            "transaction_id": risk.column("transaction_id").take(pa.array(labelled)),
            "is_fraud": pa.array(is_fraud[labelled]),
            "labeled_at": pa.array(
                [
                    min(at[i] + dt.timedelta(days=float(d)), cutoff)
                    for i, d in zip(labelled, lag, strict=True)
                ],
                pa.timestamp("us"),
            ),
        }
    )


def _prf(y: np.ndarray, flagged: np.ndarray) -> tuple[float, float, float]:
    tp = float(np.sum(flagged & y))
    precision = tp / max(float(flagged.sum()), 1.0)
    recall = tp / max(float(y.sum()), 1.0)
    f1 = 2 * tp / max(float(flagged.sum() + y.sum()), 1.0)
    return precision, recall, f1


def best_f1(y: np.ndarray, score: np.ndarray) -> tuple[float, float, float, float]:
    """(F1, precision, recall, flag rate) at the threshold with the best F1 against the truth."""
    precision, recall, thresholds = precision_recall_curve(y, score)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    i = int(np.argmax(f1[:-1]))
    return float(f1[i]), float(precision[i]), float(recall[i]), float(np.mean(score >= thresholds[i]))


def population_report(scorer: Any, risk: pa.Table, is_fraud: np.ndarray) -> dict[str, float]:
    """Flag rate against the true fraud rate, precision/recall/F1 at the flag, PR-AUC, the
    IsolationForest baseline at its own best threshold, and the model's best-possible F1, all against the
    full truth over every scored transaction."""
    out = scorer.score(risk)
    score = out.column("fraud_score").to_numpy()
    flagged = np.asarray(out.column("is_flagged").to_numpy(zero_copy_only=False), bool)
    precision, recall, f1 = _prf(is_fraud, flagged)
    baseline = scorer.baseline_score(risk)
    base_f1, base_p, base_r, base_rate = best_f1(is_fraud, baseline)
    model_best = best_f1(is_fraud, score)
    # Customers: fraudulent when any of their transactions is; flagged when any of theirs is.
    codes = np.asarray(pc.dictionary_encode(out.column("customer_id")).combine_chunks().indices)
    customer_fraud = np.bincount(codes, is_fraud.astype(float)) > 0
    customer_flagged = np.bincount(codes, flagged.astype(float)) > 0
    c_precision, c_recall, c_f1 = _prf(customer_fraud, customer_flagged)
    return {
        "transactions": float(risk.num_rows),
        "true_fraud_rate": float(is_fraud.mean()),
        "flag_rate": float(flagged.mean()),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "pr_auc": float(average_precision_score(is_fraud, score)),
        "best_possible_f1": model_best[0],
        "customer_fraud_rate": float(customer_fraud.mean()),
        "customer_flag_rate": float(customer_flagged.mean()),
        "customer_precision": c_precision,
        "customer_recall": c_recall,
        "customer_f1": c_f1,
        "isolation_forest_pr_auc": float(average_precision_score(is_fraud, baseline)),
        "isolation_forest_best_f1": base_f1,
        "isolation_forest_best_flag_rate": base_rate,
    }


def oracle_gap(
    scorer: Any, risk: pa.Table, is_fraud: np.ndarray, mechanism: list[str | None]
) -> dict[str, tuple]:
    """Where ranking is lost against a model trained on the full truth: PR-AUC of the scorer and of an
    oracle (the scorer's own supervised model class and inputs, fitted on every transaction of the
    earliest 75% by time with its true label) on the latest 25%, overall and per mechanism (that
    mechanism's fraud against the legitimate transactions)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    at = np.asarray(pc.cast(risk.column("transacted_at"), pa.int64()).to_numpy(zero_copy_only=False))
    late = at >= np.quantile(at, 0.75)
    X = scorer.preprocessor_.transform(risk)
    Z = scorer._supervised_inputs(X, scorer._anomaly(X))
    oracle = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=0)
    oracle.fit(Z[~late], is_fraud[~late])
    o = oracle.predict_proba(Z[late])[:, 1]
    s = scorer.score(risk).column("fraud_score").to_numpy()[late]
    y, mech = is_fraud[late], [m for m, keep in zip(mechanism, late, strict=True) if keep]
    out = {"all": (average_precision_score(y, s), average_precision_score(y, o), int(y.sum()))}
    for m in sorted({m for m in mech if m}):
        rows = np.array([x == m or x is None for x in mech]) & (~y | np.array([x == m for x in mech]))
        out[m] = (
            average_precision_score(y[rows], s[rows]),
            average_precision_score(y[rows], o[rows]),
            int(y[rows].sum()),
        )
    return out
