"""A dbt-duckdb plugin (profiles.yml, `plugins:`) whose one job is to import this package, and with it
numpy, scikit-learn and torch, in dbt's main thread when the first connection opens, before any model runs.

dbt runs models on worker threads. Importing numpy sets and then deletes two environment variables
(OPENBLAS_MAIN_FREE, GOTOBLAS_MAIN_FREE); done on a worker thread while another thread reads the
environment, it failed a build with KeyError: 'OPENBLAS_MAIN_FREE'. Two threads importing scikit-learn
at once also met a half-initialised module. Imported here, both happen once, before the threads start.
"""

from dbt.adapters.duckdb.plugins import BasePlugin

import customer_ml  # noqa: F401  (the import is the point: see above)


class Plugin(BasePlugin):
    """Loaded by dbt-duckdb when it opens its first connection; it changes nothing on the connection."""
