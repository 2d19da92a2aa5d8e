{#-
    The scored candidates of the 'current' and 'training' snapshots (int_customers_candidate_scores,
    scored with the blend learned for each, recommendation_model_blend_weights) ranked for each customer:
    the chance the customer buys the item in the next horizon, the signal group that contributes most
    (the reason), and the customer's ranking. 'current' feeds
    customer_recommendations; 'training' is scored with weights learned one horizon earlier still and
    feeds the backtest. Already-bought items are kept unless var recommend_bought_items is false.

    Discovery (int_customers_discovery_doors): every list opens a door as well as repeating what the
    customer knows. A chosen discovery item already ranked within the first var
    recommendation_discovery_rank positions stays; the others move into the last positions before it,
    pushing the rest down. 0 turns discovery off.
-#}
{%- set groups = recommendation_signal_groups() -%}
{#- When a group's signal is there for the item: only then can it be the reason. -#}
{%- set present = {
    'own_history': 'bought_before = 1',
    'category_habit': 'category_share > 0',
    'copurchase': 'copurchase_score > 0',
    'segment': 'segment_share > 0',
    'popularity': 'true',
} -%}
{%- set discovery_rank = var('recommendation_discovery_rank') | int -%}
{%- set list_length = [10, var('recommendations_per_customer') | int] | max -%}
{%- set contribution_sql = recommendation_contributions() -%}
with

scored as (
    select * from {{ ref('int_customers_candidate_scores') }}
),

chosen_doors as (
    select * from {{ ref('int_customers_discovery_doors') }}
),

candidates as (
    select * from {{ ref('int_customers_recommendation_candidates') }}
),

blend_weights as (
    select * from {{ ref('recommendation_model_blend_weights') }}
),

weights as (
    {{ recommendation_weights('blend_weights') }}
),

naturally_ranked as (
    -- Narrow rows, before the discovery items join them: the window sorts every candidate.
    select
        snapshot_name,
        customer_key,
        item_key,
        score,
        discovery_chance,
        row_number() over (
            partition by snapshot_name, customer_key
            order by score desc, global_share desc, item_key asc
        ) as natural_rank
    from scored
),

shortlist as (
    -- What can still make the list: at most two discovery items move up, so nothing else below it.
    select
        naturally_ranked.*,
        chosen_doors.door_order,
        chosen_doors.item_key is not null as is_discovery,
        chosen_doors.item_key is not null and naturally_ranked.natural_rank > {{ discovery_rank }} as is_moved
    from naturally_ranked
    left join chosen_doors
        on {{ same_keys('naturally_ranked', 'chosen_doors', ['snapshot_name', 'customer_key', 'item_key']) }}
    where naturally_ranked.natural_rank <= {{ list_length }} or chosen_doors.item_key is not null
),

placed as (
    select
        *,
        count(case when is_moved then 1 end) over (partition by snapshot_name, customer_key) as moved_items,
        row_number() over (
            partition by snapshot_name, customer_key, is_moved
            order by case when is_moved then door_order end, natural_rank
        ) as rank_in_group
    from shortlist
),

ranked as (
    select
        *,
        case
            when is_moved then {{ discovery_rank }} - moved_items + rank_in_group
            when rank_in_group <= {{ discovery_rank }} - moved_items then rank_in_group
            else rank_in_group + moved_items
        end as recommendation_rank
    from placed
),

-- noqa: disable=LT02
listed as (
    -- The listed items with their signals and each signal group's contribution, for the reason.
    select
        ranked.recommendation_rank,
        ranked.score,
        ranked.is_discovery,
        ranked.discovery_chance,
        candidates.*,
        weights.blend_method,
        weights.dw_category_transition * candidates.category_transition as transition_contribution,
        {%- for group in groups %}
        {{ contribution_sql[group] }} as {{ group }}_contribution{{ ',' if not loop.last }}
        {%- endfor %}
    from ranked
    inner join candidates
        on {{ same_keys('ranked', 'candidates', ['snapshot_name', 'customer_key', 'item_key']) }}
    inner join weights
        on candidates.snapshot_name = weights.applies_to_snapshot
    where ranked.recommendation_rank <= {{ list_length }}
),
-- noqa: enable=LT02

reasoned as (
    select
        *,
        -- The group that adds most to the score names the reason (ties: the order listed), among the
        -- groups whose signal is there for this item; popularity always is, and is the last resort.
        -- greatest() skips the groups that are not there (null).
        greatest(
            {%- for group in groups %}
            case when {{ present[group] }} then {{ group }}_contribution end{{ ',' if not loop.last }}
            {%- endfor %}
        ) as best_contribution
    from listed
),

final as (
    select
        snapshot_name,
        as_of_date,
        customer_key,
        item_key,
        category,
        segment_id,
        score,
        case
            -- A discovery item chosen partly because customers who buy one of the customer's categories
            -- often start buying in its category says so.
            when is_discovery and transition_contribution > 0 and transition_from_category is not null
                then 'category_adoption'
            {%- for group in groups %}
            when {{ present[group] }} and {{ group }}_contribution = best_contribution then '{{ group }}'
            {%- endfor %}
        end as reason_kind,
        is_discovery,
        own_orders,
        days_since_bought,
        category_share,
        anchor_item_key,
        segment_share,
        global_share,
        popularity_rank,
        is_new_category,
        blend_method,
        transition_from_category,
        discovery_chance,
        recommendation_rank
    from reasoned
)

select * from final
