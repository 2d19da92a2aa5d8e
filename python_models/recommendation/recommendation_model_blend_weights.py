"""Learns how the recommender weighs its candidate signals, on a time split: the weights applied today
are fitted on the candidates of one horizon ago and what customers bought since; the weights the
backtest applies are fitted one horizon earlier still."""

from customer_ml.recommendation.blend import BLEND_SIGNALS, blend_weights_table
from customer_ml.warehouse.arrow import to_arrow
from customer_ml.warehouse.progress import dbt_progress


def model(dbt, session):
    candidates = dbt.ref("int_customers_recommendation_candidates")
    columns = ", ".join((*BLEND_SIGNALS, "is_bought_next"))

    def labelled(snapshot):
        chosen = candidates.filter(f"snapshot_name = '{snapshot}'").order("customer_id, item_id")
        return to_arrow(chosen.select(columns))

    fits = [("training", "current", labelled("training")), ("backtest", "training", labelled("backtest"))]
    return blend_weights_table(fits, progress=dbt_progress("recommendation"))
