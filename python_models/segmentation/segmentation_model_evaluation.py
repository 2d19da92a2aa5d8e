"""Evaluation of the applied segmentation on this build's data (and recovery of the demo's hidden kinds)."""

from customer_ml.registry import latest_version, of_version
from customer_ml.segmentation.evaluation import evaluation_table, segmentation_evaluation, stored_robustness
from customer_ml.segmentation.versions import KIND, load_model
from customer_ml.warehouse.arrow import current_snapshot, to_arrow


def model(dbt, session):
    version = latest_version(dbt.ref("segmentation_model_versions"), KIND)
    features = current_snapshot(dbt.ref("int_customers_features"))
    assignments = to_arrow(dbt.ref("segmentation_model_assignments").order("customer_id"))
    truth = to_arrow(dbt.ref("stg_demo__customer_kinds"))
    model = load_model(version, device="cpu")
    # The robustness twins are measured in their own node (segmentation_model_robustness).
    robustness = dbt.ref("segmentation_model_robustness").filter(of_version(version["model_version"]))
    model.metrics_.update(stored_robustness(to_arrow(robustness)))
    rows = segmentation_evaluation(model, features, assignments, truth, seed=int(dbt.config.meta_get("seed")))
    as_of_date = features.column("as_of_date")[0].as_py()
    return evaluation_table(rows, version["model_version"], as_of_date)
