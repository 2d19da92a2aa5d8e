"""A dbt plugin module: dbt imports every installed top-level module whose name starts with `dbt_` when a
command starts, before it builds its queue of nodes, and initialises the `plugins` it lists
(dbt.plugins.manager; an interface dbt calls experimental, hence dbt-core pinned in requirements.txt).

Its one job, for this project only: start first, of the nodes that are ready, the one with the longest
path of work still ahead of it (customer_ml.warehouse.scheduling). For any other project it does nothing.
"""

from __future__ import annotations

from dbt.plugins.manager import dbtPlugin

PROJECT_NAME = "customer_segmentation"


class CriticalPathFirst(dbtPlugin):
    """Installs the critical-path order of customer_ml.warehouse.scheduling for this project."""

    def initialize(self) -> None:
        if self.project_name == PROJECT_NAME:
            from customer_ml.warehouse.scheduling import install

            install()


plugins = [CriticalPathFirst]
