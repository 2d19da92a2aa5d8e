"""Scoring in batches: the same fitted model applied batch by batch, in this process or on each partition
of a Spark DataFrame (mapInArrow), giving the rows a one-shot `predict` gives.

A fitted model's `predict` treats each row on its own (the preprocessing, the encoder and the centroids
are learnt at fit), so a batch, or a partition, can be scored anywhere the model can be unpickled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

import pyarrow as pa

from customer_ml.distributed.frames import iter_batches


class BatchScorer(Protocol):
    def predict(self, table: pa.Table) -> pa.Table: ...


def score_batches(model: BatchScorer, frame: Any, batch_size: int = 65_536) -> Iterator[pa.Table]:
    """model.predict of each batch of frame (any frame frames.py reads), in the frame's order."""
    for batch in iter_batches(frame, batch_size):
        yield model.predict(batch)


def score_frame(model: BatchScorer, frame: Any, batch_size: int = 65_536) -> pa.Table:
    """All the scored batches of frame as one table."""
    parts = list(score_batches(model, frame, batch_size))
    if not parts:
        raise ValueError("nothing to score: the frame has no rows")
    return pa.concat_tables(parts)


def partition_scorer(model: BatchScorer) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function Spark's DataFrame.mapInArrow runs on each partition: every Arrow batch of the
    partition scored by model (pickled to the executors with the function)."""

    def score_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows:
                yield from model.predict(pa.Table.from_batches([batch])).to_batches()

    return score_partition


def score_spark(model: BatchScorer, frame: Any, sample: pa.Table) -> Any:
    """frame (a Spark DataFrame of model inputs) scored on its own partitions, as a Spark DataFrame.
    sample, a few rows of the same columns, fixes the output schema (Spark needs it before it runs)."""
    from pyspark.sql.pandas.types import from_arrow_schema  # noqa: PLC0415 - pyspark only where Spark runs

    schema = from_arrow_schema(model.predict(sample).schema)
    return frame.mapInArrow(partition_scorer(model), schema)
