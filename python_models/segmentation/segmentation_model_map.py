"""A 2-D map of customers for plots: PCA of every embedding, t-SNE of a seeded sample."""

from customer_ml.segmentation.profiles import map_2d_table
from customer_ml.warehouse.arrow import to_arrow


def model(dbt, session):
    assignments = to_arrow(dbt.ref("segmentation_model_assignments").order("customer_id"))
    return map_2d_table(
        assignments,
        tsne_sample_size=int(dbt.config.meta_get("tsne_sample_size")),
        seed=int(dbt.config.meta_get("seed")),
        tsne_iterations=int(dbt.config.meta_get("tsne_iterations")),
    )
