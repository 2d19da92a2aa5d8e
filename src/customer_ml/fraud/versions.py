"""Fraud model versions in the registry: train a scorer into one registry row, and load it back."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pyarrow as pa

from customer_ml.fraud.config import FraudConfig
from customer_ml.fraud.scorer import SCORE_BATCH_ROWS, FraudScorer
from customer_ml.registry import version_row
from customer_ml.serialization import jsonable
from customer_ml.warehouse.arrow import as_reader, batches, row_count, to_arrow
from customer_ml.warehouse.progress import Say

__all__ = ["KIND", "load_scorer", "score_relation", "train_version"]

KIND = "fraud"


def train_version(
    risk: pa.Table,
    labels: pa.Table | None,
    catalog: Any,
    previous: dict[str, Any] | None,
    as_of_date: dt.date,
    reason: str,
    seed: int,
    flagging: dict[str, Any] | None = None,
    say: Say | None = None,
) -> pa.Table:
    """Fit the fraud scorer on the transactions' risk features (and the labels known before the as-of
    date): one registry row, whose metrics hold the held-out evaluation against IsolationForest and the
    expected precision and recall of the flags on the whole population. `flagging`: FraudConfig fields
    of the flagging rule (alert_share, alerts_per_day, target_precision); `say` receives progress lines."""
    scorer = FraudScorer(FraudConfig(seed=seed, **(flagging or {}))).fit(risk, catalog, labels, say)
    record = scorer.to_record()
    evaluation = [jsonable(row) for row in scorer.evaluate().to_pylist()]
    # Everything but config and weights: preprocessing state, thresholds, label status, metrics.
    state = {key: value for key, value in record.items() if key not in ("config", "weights")}
    return version_row(
        KIND,
        previous,
        as_of_date=as_of_date,
        training_rows=risk.num_rows,
        reason=reason,
        config=jsonable(record["config"]),
        feature_names=jsonable(record.get("feature_names", [])),
        preprocessing=jsonable(state),
        metrics={"evaluation": evaluation},
        weights=record["weights"],
    )


def load_scorer(version: dict[str, Any]) -> FraudScorer:
    """The fitted fraud scorer of a registry row."""
    record = json.loads(version["preprocessing"])
    record["config"] = json.loads(version["config"])
    record["weights"] = version["weights"]
    return FraudScorer.from_record(record)


def score_relation(version: dict[str, Any], risk: Any, say: Say | None = None) -> pa.RecordBatchReader:
    """The scores of every transaction of `risk` (a relation of int_transactions_risk, in the order
    wanted) by a registry row's scorer, with its model_version: a reader that streams batches of
    SCORE_BATCH_ROWS from the relation through the scorer, so neither the risk table nor the scores are
    ever whole in memory. `say` receives progress lines."""
    scorer = load_scorer(version)
    label = pa.scalar(version["model_version"], pa.string())
    scored = scorer.score_batches(
        batches(risk, SCORE_BATCH_ROWS), row_count(risk), say, lambda: to_arrow(risk.limit(0))
    )
    return as_reader(t.append_column("model_version", pa.repeat(label, t.num_rows)) for t in scored)
