{#-
    The items most related to each recommender customer's recent items: one row per snapshot, customer and
    one of their var recommendation_candidates_per_source highest co-purchase sums (ties to the smaller
    item key). A model of its own so that int_customers_recommendation_candidate_items, which unions the
    sources, does not sort the co-purchase signals in the same query (at 1,000,000 customers that ran out
    of DuckDB's memory).
-#}
{%- set per_source = var('recommendation_candidates_per_source') | int -%}
with

copurchase_signals as (
    select * from {{ ref('int_customers_copurchase_signals') }}
),

final as (
    {{ first_per_group(
        'copurchase_signals',
        ['snapshot_name', 'customer_key'],
        'copurchase_sum desc, item_key asc',
        per_source,
    ) }}
)

select * from final
