"""customer_ml: the machine-learning package behind the dbt project's Python models.

One subpackage per concern; the thin models in python_models/ call one function each:

- features: catalog-driven preprocessing of the SQL feature tables (the only feature logic in Python).
- nn: the adversarially trained autoencoder and the choice of torch device, shared by segmentation and
  fraud.
- segmentation: the segmentation estimator (representation, number of segments, clustering), its
  evaluation, and the plain-language segment profiles.
- value: buy-till-you-die models, churn and lifetime-value models, and their train/apply routines.
- fraud: the fraud scorer (anomaly, rules, supervised model, calibration, reasons).
- recommendation: the learned blend of the SQL recommender's candidate sources.
- registry: model versions kept in the warehouse and the one retrain decision for every model kind.
- reporting: the self-contained HTML report of a built warehouse.
- warehouse: Arrow I/O with DuckDB relations, progress lines in the dbt log, the serving file.

The demo data generator is a development tool outside this package (tools/demo_data).
"""

__version__ = "0.2.0"
