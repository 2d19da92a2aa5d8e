"""The critical-path order of dbt's queue (customer_ml.warehouse.scheduling, dbt_customer_segmentation)."""

from types import SimpleNamespace

import networkx as nx
import pytest
from dbt.graph.queue import GraphQueue

import dbt_customer_segmentation
from customer_ml.warehouse import scheduling


def _model(language: str) -> SimpleNamespace:
    return SimpleNamespace(resource_type="model", language=language)


# Two fits ready at once: "a_fit" has little behind it, "b_fit" a chain of SQL models (the segments and the
# recommender's steps); a test of the first fit and an unrelated SQL model beside them.
NODES = {
    "model.p.a_fit": _model("python"),
    "model.p.b_fit": _model("python"),
    "model.p.b_step1": _model("sql"),
    "model.p.b_step2": _model("sql"),
    "model.p.a_mart": _model("sql"),
    "model.p.other": _model("sql"),
    "test.p.a_fit_not_null": SimpleNamespace(resource_type="test", language="sql"),
}
EDGES = [
    ("model.p.a_fit", "model.p.a_mart"),
    ("model.p.a_fit", "test.p.a_fit_not_null"),
    ("model.p.b_fit", "model.p.b_step1"),
    ("model.p.b_step1", "model.p.b_step2"),
]


def _graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(NODES)
    graph.add_edges_from(EDGES)
    return graph


@pytest.fixture
def restore_queue(monkeypatch):
    """install() changes dbt's queue class for the process: put it back after each test."""
    monkeypatch.setattr(GraphQueue, "_get_scores", GraphQueue._get_scores)
    monkeypatch.setattr(GraphQueue, "_critical_path_first", False, raising=False)


def test_node_costs_by_kind() -> None:
    assert scheduling.node_cost(NODES["model.p.a_fit"]) == scheduling.PYTHON_MODEL_COST
    assert scheduling.node_cost(NODES["model.p.other"]) == scheduling.SQL_MODEL_COST
    assert scheduling.node_cost(NODES["test.p.a_fit_not_null"]) == scheduling.OTHER_COST
    assert scheduling.node_cost(None) == scheduling.OTHER_COST
    assert scheduling.PYTHON_MODEL_COST > scheduling.SQL_MODEL_COST > scheduling.OTHER_COST


def test_scores_put_the_longest_path_ahead_first_and_keep_dbts_order_on_ties() -> None:
    scores = scheduling.critical_path_scores(_graph(), lambda n: scheduling.node_cost(NODES[n]))
    # b_fit: 30 + 2 + 2 ahead; a_fit: 30 + 2 (its mart) ahead.
    assert scores["model.p.b_fit"] == (-34.0, 0)
    assert scores["model.p.a_fit"] == (-32.0, 0)
    assert scores["model.p.b_step2"] == (-2.0, 2)
    assert sorted(scores, key=lambda n: (scores[n], n))[:2] == ["model.p.b_fit", "model.p.a_fit"]
    # The same path ahead: the level (dbt's own order) decides, then the name.
    assert scores["model.p.other"][0] == scores["model.p.b_step2"][0]
    assert scores["model.p.other"] < scores["model.p.b_step2"]


def test_installed_queue_starts_the_critical_path_first(restore_queue) -> None:
    manifest = SimpleNamespace(nodes=NODES)
    dbt_order = GraphQueue(_graph(), manifest, set(NODES))
    # dbt's own order: every root is on level 0, so by name.
    assert [dbt_order.inner.get()[1] for _ in range(3)] == ["model.p.a_fit", "model.p.b_fit", "model.p.other"]
    assert scheduling.install()
    assert scheduling.install()  # once is enough; a second call changes nothing
    queue = GraphQueue(_graph(), manifest, set(NODES))
    started = [queue.inner.get()[1] for _ in range(queue.inner.qsize())]
    # Every root is ready at once: the fit with the chain behind it first, the lone SQL model last.
    assert started == ["model.p.b_fit", "model.p.a_fit", "model.p.other"]


def test_the_plugin_installs_for_this_project_only(restore_queue) -> None:
    dbt_customer_segmentation.CriticalPathFirst(project_name="some_other_project")
    assert not getattr(GraphQueue, "_critical_path_first", False)
    dbt_customer_segmentation.CriticalPathFirst(project_name=dbt_customer_segmentation.PROJECT_NAME)
    assert GraphQueue._critical_path_first


def test_dbt_finds_the_plugin_module() -> None:
    """dbt loads every installed top-level module named dbt_* that lists `plugins`."""
    from dbt.plugins.manager import PluginManager

    modules = PluginManager.get_prefixed_modules()
    assert modules.get("dbt_customer_segmentation") is dbt_customer_segmentation
    assert dbt_customer_segmentation.plugins == [dbt_customer_segmentation.CriticalPathFirst]
