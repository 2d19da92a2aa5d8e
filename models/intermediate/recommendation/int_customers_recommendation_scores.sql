{#-
    Every candidate of the 'current' and 'training' snapshots scored with the blend learned for it
    (recommendation_model_blend_weights): the chance the customer buys the item in the next horizon, the
    signal group that contributes most (the reason), and the customer's ranking. 'current' feeds
    customer_recommendations; 'training' is scored with weights learned one horizon earlier still and
    feeds the backtest. Already-bought items are kept unless var recommend_bought_items is false.

    Discovery: the best-scoring candidate from a category new to the customer is moved up to rank
    var recommendation_discovery_rank (when it ranks lower), so every list opens a door as well as
    repeating what the customer knows; 0 turns this off.
-#}
{%- set groups = {
    'own_history': ['bought_before', 'log_own_orders', 'own_recency', 'repeat_propensity'],
    'category_habit': ['category_share'],
    'copurchase': ['copurchase_score'],
    'segment': ['segment_share'],
    'popularity': ['global_share'],
} -%}
{#- When a group's signal is there for the item: only then can it be the reason. -#}
{%- set present = {
    'own_history': 'bought_before = 1',
    'category_habit': 'category_share > 0',
    'copurchase': 'copurchase_score > 0',
    'segment': 'segment_share > 0',
    'popularity': 'true',
} -%}
{%- set discovery_rank = var('recommendation_discovery_rank') | int -%}
{%- set contribution_sql = {} -%}
{%- for group, signals in groups.items() -%}
{%- set terms = [] -%}
{%- for signal in signals -%}
{%- do terms.append('weights.w_' ~ signal ~ ' * candidates.' ~ signal) -%}
{%- endfor -%}
{%- do contribution_sql.update({group: terms | join('\n        + ')}) -%}
{%- endfor -%}
with

candidates as (
    select * from {{ ref('int_customers_recommendation_candidates') }}
),

blend_weights as (
    select * from {{ ref('recommendation_model_blend_weights') }}
),

weights as (
    select
        applies_to_snapshot,
        any_value(method) as blend_method,
        max(weight) filter (where signal = 'intercept') as intercept
        {%- for signals in groups.values() %}{% for signal in signals %},
        max(weight) filter (where signal = '{{ signal }}') as w_{{ signal }}
        {%- endfor %}{% endfor %}
    from blend_weights
    group by applies_to_snapshot
),

-- noqa: disable=LT02
contributions as (
    select
        candidates.*,
        weights.blend_method,
        weights.intercept,
        {%- for group in groups %}
        {{ contribution_sql[group] }} as {{ group }}_contribution{{ ',' if not loop.last }}
        {%- endfor %}
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
        *,
        -- The logit is kept within +-50: the score is then 0 or 1 to double precision, and exp() stays
        -- in range whatever the weights.
        1 / (1 + exp(-greatest(-50, least(
            50, intercept
            {%- for group in groups %}
            + {{ group }}_contribution{% endfor %}
        )))) as score,
        -- The group that adds most to the score names the reason (ties: the order listed), among the
        -- groups whose signal is there for this item; popularity always is, and is the last resort.
        list_filter(
            [
                {%- for group in groups %}
                struct_pack(
                    reason_kind := '{{ group }}',
                    contribution := case when {{ present[group] }} then {{ group }}_contribution end
                ){{ ',' if not loop.last }}
                {%- endfor %}
            ],
            candidate -> candidate.contribution is not null
        ) as group_contributions
    from contributions
),

naturally_ranked as (
    select
        *,
        row_number() over (
            partition by snapshot_name, customer_id
            order by score desc, global_share desc, item_id asc
        ) as natural_rank,
        {{ discovery_rank }} > 0 and is_new_category and row_number() over (
            partition by snapshot_name, customer_id, is_new_category
            order by score desc, global_share desc, item_id asc
        ) = 1 as is_discovery
    from scored
),

final as (
    select
        snapshot_name,
        as_of_date,
        customer_id,
        item_id,
        category,
        segment_id,
        score,
        list_reduce(
            group_contributions,
            (best, candidate) -> case
                when candidate.contribution > best.contribution then candidate else best
            end
        ).reason_kind as reason_kind,
        is_discovery,
        own_orders,
        days_since_bought,
        category_share,
        anchor_item_id,
        segment_share,
        global_share,
        popularity_rank,
        is_new_category,
        blend_method,
        row_number() over (
            partition by snapshot_name, customer_id
            order by
                case
                    when is_discovery and natural_rank > {{ discovery_rank }} then {{ discovery_rank }} - 0.5
                    else natural_rank
                end,
                natural_rank
        ) as recommendation_rank
    from naturally_ranked
    qualify recommendation_rank <= greatest(10, {{ var('recommendations_per_customer') | int }})
)

select * from final
