"""Publishes the marts to the serving DuckDB file BI tools read (see customer_ml.warehouse.serving).

It refs every published table, so in `dbt build` it runs only once each of them and its tests passed:
a build that fails publishes nothing and readers keep the last good marts.
"""

from customer_ml.warehouse.serving import publish


def model(dbt, session):
    # Literal refs: dbt reads them to order this model after every published table and its tests.
    published = {
        "customer_segments": dbt.ref("customer_segments"),
        "segment_profiles": dbt.ref("segment_profiles"),
        "fraud_transaction_scores": dbt.ref("fraud_transaction_scores"),
        "fraud_customer_scores": dbt.ref("fraud_customer_scores"),
        "segment_item_affinity": dbt.ref("segment_item_affinity"),
        "customer_recommendations": dbt.ref("customer_recommendations"),
        "model_evaluation": dbt.ref("model_evaluation"),
        "model_registry": dbt.ref("model_registry"),
        "data_quality": dbt.ref("data_quality"),
        "segmentation_model_map": dbt.ref("segmentation_model_map"),
        "customer_map_points": dbt.ref("customer_map_points"),
        "segment_history": dbt.ref("segment_history"),
        "segment_sizes": dbt.ref("segment_sizes"),
        "segment_transitions": dbt.ref("segment_transitions"),
    }
    # The paths come from the running build's row in the build log beside this model (macros/ops/).
    return publish(session, tuple(published), f"{dbt.this.database}.{dbt.this.schema}.build_log")
