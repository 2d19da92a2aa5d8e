"""Learns how the recommender weighs its candidate signals, on a time split: the weights applied today
are fitted on the candidates of one horizon ago and what customers bought since; the weights the
backtest applies are fitted one horizon earlier still. Two blends: items (every candidate), and the
discovery slots (candidates from categories new to the customer, labelled by a purchase in the
category)."""

from customer_ml.recommendation.blend import BLENDS, blend_weights_table
from customer_ml.warehouse.arrow import to_arrow
from customer_ml.warehouse.progress import dbt_progress


def model(dbt, session):
    candidates = dbt.ref("int_customers_recommendation_candidates")

    def labelled(blend, snapshot):
        signals, label, _ = BLENDS[blend]
        rows = f"snapshot_name = '{snapshot}'" + (" and is_new_category" if blend == "discovery" else "")
        chosen = candidates.filter(rows).order("customer_key, item_key")
        return to_arrow(chosen.select(", ".join((*signals, label))))

    fits = [
        (blend, fitted_on, applies_to, labelled(blend, fitted_on))
        for blend in BLENDS
        for fitted_on, applies_to in (("training", "current"), ("backtest", "training"))
    ]
    return blend_weights_table(fits, progress=dbt_progress("recommendation"))
