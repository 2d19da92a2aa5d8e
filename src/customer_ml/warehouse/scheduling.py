"""The order in which dbt starts the nodes that are ready: the longest remaining path first.

dbt runs a node as soon as its parents (and, in `dbt build`, their tests) are done, on the first free
thread; among the nodes that are ready at once it starts the one of the lowest topological level, and
on a tie the first by name (dbt.graph.queue.GraphQueue). In this project three model fits become ready
within seconds of each other: fraud first (its inputs are shallower), then churn and value before
segmentation (by name), though everything downstream of the segments (the assignments, the map, the
evaluation, the recommender's steps) waits for segmentation, and nothing much waits for the other two.
So on two threads one of them stood idle through much of the build's tail.

`install` replaces dbt's scoring with the classic list-scheduling rule: start first the ready node with
the longest path of estimated work still ahead of it, through its descendants (critical path first).
A node's work is estimated from its kind: a Python model (a fit or a scoring pass) `PYTHON_MODEL_COST`,
a SQL model `SQL_MODEL_COST`, a test or anything else `OTHER_COST`. The estimates need not be right,
only in the right proportion: replayed on the 100,000-customer build's measured node times with two
threads (`bench/bench_schedule.py`), dbt's order finishes in 284 s of node time, this order in 247 s,
which is the sum of the node times over two threads, the least any order can take. Ties keep dbt's
order (level, then name), so the order is as deterministic as dbt's; what a node computes does not
depend on what runs beside it (one BLAS thread for the whole build: customer_ml.nn.device).

Installed by `dbt_customer_segmentation` (a dbt plugin module, loaded before dbt builds its queue) for
this project only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "OTHER_COST",
    "PYTHON_MODEL_COST",
    "SQL_MODEL_COST",
    "critical_path_scores",
    "install",
    "node_cost",
]

PYTHON_MODEL_COST = 30.0
SQL_MODEL_COST = 2.0
OTHER_COST = 0.1


def node_cost(node: Any) -> float:
    """The estimated work of a manifest node (None: a node the manifest does not know)."""
    if node is None or str(getattr(node, "resource_type", "")) not in ("model", "NodeType.Model"):
        return OTHER_COST
    return PYTHON_MODEL_COST if str(getattr(node, "language", "sql")).endswith("python") else SQL_MODEL_COST


def critical_path_scores(graph: Any, cost: Callable[[str], float]) -> dict[str, tuple[float, int]]:
    """For each node of `graph` (a networkx DiGraph of the nodes to run): (minus the estimated work on the
    longest path from it through its descendants, its dbt level), lowest first, as dbt's queue reads
    them. The level keeps dbt's order among nodes with the same path ahead."""
    import networkx as nx

    order = list(nx.topological_sort(graph))
    remaining: dict[str, float] = {}
    for node in reversed(order):
        ahead = max((remaining[child] for child in graph.successors(node)), default=0.0)
        remaining[node] = cost(node) + ahead
    level: dict[str, int] = {}
    for node in order:
        level[node] = max((level[parent] + 1 for parent in graph.predecessors(node)), default=0)
    return {node: (-round(remaining[node], 6), level[node]) for node in graph.nodes}


def install() -> bool:
    """Make dbt's graph queue start the ready node with the longest path ahead first; False (dbt's own
    order stays) where this dbt has no such queue to change."""
    try:
        from dbt.graph.queue import GraphQueue
    except ImportError:
        return False
    if not hasattr(GraphQueue, "_get_scores") or getattr(GraphQueue, "_critical_path_first", False):
        return bool(getattr(GraphQueue, "_critical_path_first", False))

    def _get_scores(self: Any, graph: Any) -> Mapping[str, tuple[float, int]]:
        nodes = getattr(self.manifest, "nodes", {})
        return critical_path_scores(graph, lambda unique_id: node_cost(nodes.get(unique_id)))

    GraphQueue._get_scores = _get_scores
    GraphQueue._critical_path_first = True
    return True
