"""Replay a build's measured node times under dbt's own order of its queue and the critical path first.

    PYTHONPATH=src .venv/bin/python bench/bench_schedule.py BUILD_TARGET_DIR [--threads 2]

BUILD_TARGET_DIR is the `target/` folder of a `dbt build` (its manifest.json and run_results.json; e.g.
`bench/bench_scale.py`'s `build_<N>/target`). The build's graph is rebuilt as `dbt build` runs it (each
test before the nodes that descend from everything it tests, as dbt's add_test_edges does), every node
takes the time it took in that build, and a list scheduler on `--threads` threads starts, of the ready
nodes, the first in each order:

- dbt's own (dbt.graph.queue): the lowest topological level, then the name;
- the critical path first with the estimated costs `customer_ml.warehouse.scheduling` gives dbt (a
  Python model 30, a SQL model 2, anything else 0.1), which is what the project's builds now run;
- the critical path first with the measured times (the best this rule can do).

It prints each order's time to the last node's end (node time only: dbt's start-up and parsing come on
top), the sum of the node times over the threads (no order can finish sooner) and the longest path.
The replay ignores that nodes sharing the cores slow each other, so it ranks orders rather than
predicting wall times.
"""

from __future__ import annotations

import argparse
import heapq
import json
from collections.abc import Callable
from pathlib import Path

import networkx as nx

from customer_ml.warehouse.scheduling import critical_path_scores, node_cost


class _Node:
    def __init__(self, entry: dict) -> None:
        self.resource_type = entry.get("resource_type", "")
        self.language = entry.get("language", "sql")


def build_graph(target: Path) -> tuple[nx.DiGraph, dict[str, float], dict[str, _Node]]:
    manifest = json.loads((target / "manifest.json").read_text())
    results = json.loads((target / "run_results.json").read_text())["results"]
    seconds = {r["unique_id"]: float(r["execution_time"]) for r in results}
    graph = nx.DiGraph()
    graph.add_nodes_from(seconds)
    for node in seconds:
        graph.add_edges_from((p, node) for p in manifest["parent_map"].get(node, []) if p in seconds)
    descendants = {node: nx.descendants(graph, node) for node in graph}
    tests = [n for n in seconds if n.split(".")[0] in ("test", "unit_test")]
    for test in tests:
        tested = [p for p in manifest["parent_map"].get(test, []) if p in seconds]
        if tested:
            common = set.intersection(*(descendants[p] for p in tested))
            graph.add_edges_from((test, n) for n in common if n.split(".")[0] not in ("test", "unit_test"))
    entries = {**manifest["nodes"], **manifest.get("unit_tests", {})}
    return graph, seconds, {n: _Node(entries.get(n, {})) for n in seconds}


def replay(graph: nx.DiGraph, seconds: dict[str, float], priority: dict, threads: int) -> float:
    """When the last node ends, starting the ready node of the lowest (priority, id) on each free thread."""
    waiting = {node: graph.in_degree(node) for node in graph}
    ready = [(priority[n], n) for n, d in waiting.items() if d == 0]
    heapq.heapify(ready)
    running: list[tuple[float, str]] = []
    now = 0.0
    while ready or running:
        while ready and len(running) < threads:
            _, node = heapq.heappop(ready)
            heapq.heappush(running, (now + seconds[node], node))
        now, node = heapq.heappop(running)
        for child in graph.successors(node):
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (priority[child], child))
    return now


def dbt_levels(graph: nx.DiGraph) -> dict[str, tuple[int, str]]:
    levels: dict[str, tuple[int, str]] = {}
    for component in nx.connected_components(graph.to_undirected()):
        for level, nodes in enumerate(nx.topological_generations(graph.subgraph(component))):
            levels.update({node: (level, node) for node in nodes})
    return levels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    graph, seconds, nodes = build_graph(args.target)

    def by_cost(cost: Callable[[str], float]) -> dict:
        return critical_path_scores(graph, cost)

    orders = {
        "dbt's own order (level, then name)": dbt_levels(graph),
        "critical path first, estimated costs (the project's builds)": by_cost(lambda n: node_cost(nodes[n])),
        "critical path first, measured times": by_cost(seconds.__getitem__),
    }
    print(
        f"{graph.number_of_nodes()} nodes, {sum(seconds.values()):.1f} node seconds, {args.threads} threads"
    )
    for name, priority in orders.items():
        print(f"  {name:<62} {replay(graph, seconds, priority, args.threads):7.1f} s")
    longest = -min(score for score, _ in by_cost(seconds.__getitem__).values())
    bound = sum(seconds.values()) / args.threads
    print(f"  {'node time over the threads (no order finishes sooner)':<62} {bound:7.1f} s")
    print(f"  {'longest path':<62} {longest:7.1f} s")


if __name__ == "__main__":
    main()
