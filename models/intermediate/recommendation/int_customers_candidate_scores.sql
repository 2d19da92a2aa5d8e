{#-
    Every candidate of the 'current' and 'training' snapshots scored with the blend learned for it
    (recommendation_model_blend_weights): one row per snapshot, customer and candidate item, with the
    chance the customer buys the item in the next horizon and, for an item of a category new to them,
    the chance they start buying in that category (the discovery blend). Already-bought items are left
    out unless var recommend_bought_items is true. int_customers_recommendation_scores ranks them; a
    model of its own so that the ranking sorts these narrow rows, not the candidates' every signal (at
    1,000,000 customers the single query ran out of DuckDB's memory).
-#}
{%- set groups = recommendation_signal_groups() -%}
{%- set discovery_signals = recommendation_discovery_signals() -%}
{%- set contribution_sql = recommendation_contributions() -%}
with

candidates as (
    select * from {{ ref('int_customers_recommendation_candidates') }}
),

blend_weights as (
    select * from {{ ref('recommendation_model_blend_weights') }}
),

weights as (
    {{ recommendation_weights('blend_weights') }}
),

-- noqa: disable=LT02
logits as (
    -- Narrow rows (keys and what the ranking needs): the ranking and the discovery slots sort them all.
    select
        candidates.snapshot_name,
        candidates.customer_key,
        candidates.item_key,
        candidates.category,
        candidates.is_new_category,
        candidates.global_share,
        candidates.popularity_rank,
        weights.intercept
        {%- for group in groups %}
        + {{ contribution_sql[group] }}
        {%- endfor %} as logit,
        -- The discovery blend's logit, for candidates from categories new to the customer.
        case when candidates.is_new_category then weights.discovery_intercept
            {%- for signal in discovery_signals %}
            + weights.dw_{{ signal }} * candidates.{{ signal }}
            {%- endfor %}
        end as discovery_logit
    from candidates
    inner join weights
        on candidates.snapshot_name = weights.applies_to_snapshot
    where
        candidates.snapshot_name in ('current', 'training')
        and ({{ var('recommend_bought_items') }} or candidates.bought_before = 0)
),
-- noqa: enable=LT02

scored as (
    select
        snapshot_name,
        customer_key,
        item_key,
        category,
        is_new_category,
        global_share,
        popularity_rank,
        -- The logit is kept within +-50: the score is then 0 or 1 to double precision, and exp() stays
        -- in range whatever the weights.
        1 / (1 + exp(-greatest(-50, least(50, logit)))) as score,
        -- Below 1 so that ln(1 - chance) stays finite.
        least(1 / (1 + exp(-greatest(-50, least(50, discovery_logit)))), 1 - 1e-9) as discovery_chance
    from logits
),

final as (
    select * from scored
)

select * from final
