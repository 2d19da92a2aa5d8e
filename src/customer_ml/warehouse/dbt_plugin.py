"""A dbt-duckdb plugin (profiles.yml, `plugins:`) whose one job is to import numpy, scipy, scikit-learn and
torch when dbt-duckdb opens its first connection, before any model runs. That happens on one of dbt's
threads (its first query lists the schemas), under dbt-duckdb's connection lock: every other thread waits
on that lock or for the pool, so nothing else runs while the modules import.

dbt runs models on worker threads. Importing numpy sets and then deletes two environment variables
(OPENBLAS_MAIN_FREE, GOTOBLAS_MAIN_FREE); done on a worker thread while another thread reads the
environment, it failed a build with KeyError: 'OPENBLAS_MAIN_FREE'. Two threads importing scikit-learn
at once also met a half-initialised module. Imported here, both happen once, before any model runs.

It also fixes the process's BLAS pools at one thread (customer_ml.nn.device.pin_blas_threads): a BLAS
thread count is process-wide, so two models setting and restoring it around their own work changed it
under a third, whose matrix products then summed in another order from build to build.

And it starts the thread that writes the progress of long SQL queries to the dbt log
(customer_ml.warehouse.sql_progress), and makes a SQL model's transaction that DuckDB aborts for want of
memory run again instead of failing the build (customer_ml.warehouse.memory_retry).
"""

# The imports are the point (see above): the heavy third-party modules the Python models use.
import scipy.optimize  # noqa: F401
import scipy.stats  # noqa: F401
import sklearn.calibration  # noqa: F401
import sklearn.cluster  # noqa: F401
import sklearn.decomposition  # noqa: F401
import sklearn.ensemble  # noqa: F401
import sklearn.impute  # noqa: F401
import sklearn.isotonic  # noqa: F401
import sklearn.linear_model  # noqa: F401
import sklearn.manifold  # noqa: F401
import sklearn.metrics  # noqa: F401
import sklearn.mixture  # noqa: F401
import sklearn.model_selection  # noqa: F401
import sklearn.pipeline  # noqa: F401
import sklearn.preprocessing  # noqa: F401
import torch  # noqa: F401
from dbt.adapters.duckdb.plugins import BasePlugin

from customer_ml.nn.device import pin_blas_threads
from customer_ml.warehouse import memory_retry
from customer_ml.warehouse.sql_progress import watch_dbt_queries


class Plugin(BasePlugin):
    """Loaded by dbt-duckdb when it opens its first connection; it changes nothing on the connection."""

    def initialize(self, plugin_config: dict) -> None:
        # One BLAS thread for every Python model of the build, set once (see the module's docstring).
        pin_blas_threads(1)
        # Long SQL queries report their progress in the dbt log (customer_ml.warehouse.sql_progress).
        watch_dbt_queries()
        # A transaction DuckDB ran out of memory in runs again (customer_ml.warehouse.memory_retry).
        memory_retry.install()
