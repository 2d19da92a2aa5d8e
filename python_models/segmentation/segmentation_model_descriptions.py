"""Plain-language profile of each segment: what sets it apart, in words with numbers, a short name, and
the broad segment (for dashboards) it belongs to."""

from customer_ml.segmentation.profiles import describe_two_levels
from customer_ml.warehouse.arrow import feature_catalog, to_arrow


def model(dbt, session):
    assignments = dbt.ref("segmentation_model_assignments").select(
        "customer_id, segment_id, broad_segment_id"
    )
    features = dbt.ref("int_customers_features").filter("snapshot_name = 'current'")
    table = to_arrow(assignments.join(features, "customer_id").order("customer_id"))
    return describe_two_levels(table, feature_catalog(dbt.ref("int_feature_catalog")))
