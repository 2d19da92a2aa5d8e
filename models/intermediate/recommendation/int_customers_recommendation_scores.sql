{#-
    Every candidate of the 'current' and 'training' snapshots scored with the blend learned for it
    (recommendation_model_blend_weights): the chance the customer buys the item in the next horizon, the
    signal group that contributes most (the reason), and the customer's ranking. 'current' feeds
    customer_recommendations; 'training' is scored with weights learned one horizon earlier still and
    feeds the backtest. Already-bought items are kept unless var recommend_bought_items is false.

    Discovery: every list opens a door as well as repeating what the customer knows. The discovery
    blend scores each candidate from a category new to the customer with the chance they start buying in
    that category in the next horizon; each new category counts with its best item. Every customer with
    a new-category candidate gets their likeliest new category within the first var
    recommendation_discovery_rank positions; a second one (never position 1) goes to the customers it
    helps most, until the lists' expected number of customers taking up a new category there reaches
    that of a best-seller list (whose first positions show each customer the new categories they show).
    So the discovery slots are never expected to open fewer doors than global popularity, and take no
    more room from the customer's likeliest items than that needs. A chosen item already ranked within
    those positions stays; the others move into the last positions before var
    recommendation_discovery_rank, pushing the rest down. 0 turns discovery off.
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
{%- set discovery_signals = [
    'global_share', 'segment_share', 'copurchase_score', 'category_adoption_rate', 'category_transition',
] -%}
{%- set weight_columns = [] -%}
{%- for signals in groups.values() -%}{%- for signal in signals -%}
{%- do weight_columns.append(('item', signal, 'w_' ~ signal)) -%}
{%- endfor -%}{%- endfor -%}
{%- for signal in discovery_signals -%}
{%- do weight_columns.append(('discovery', signal, 'dw_' ~ signal)) -%}
{%- endfor -%}
{%- set discovery_rank = var('recommendation_discovery_rank') | int -%}
{%- set list_length = [10, var('recommendations_per_customer') | int] | max -%}
{%- set discovery_slots = [discovery_rank - 1, 1] | max if discovery_rank > 0 else 0 -%}
{%- set contribution_sql = {} -%}
{%- for group, signals in groups.items() -%}
{%- set terms = [] -%}
{%- for signal in signals -%}
{%- do terms.append('weights.w_' ~ signal ~ ' * candidates.' ~ signal) -%}
{%- endfor -%}
{%- do contribution_sql.update({group: terms | join('\n        + ')}) -%}
{%- endfor -%}
with

candidates as {{ not_materialized() }} (
    select * from {{ ref('int_customers_recommendation_candidates') }}
),

blend_weights as (
    select * from {{ ref('recommendation_model_blend_weights') }}
),

weights as (
    select
        applies_to_snapshot,
        any_value(method) filter (where blend = 'item') as blend_method,
        max(weight) filter (where blend = 'item' and signal = 'intercept') as intercept,
        {%- for blend, signal, column in weight_columns %}
        max(weight) filter (where blend = '{{ blend }}' and signal = '{{ signal }}') as {{ column }},
        {%- endfor %}
        max(weight) filter (where blend = 'discovery' and signal = 'intercept') as discovery_intercept
    from blend_weights
    group by applies_to_snapshot
),

-- noqa: disable=LT02
logits as (
    -- Narrow rows (keys and what the ranking needs): the windows below sort every candidate.
    select
        candidates.snapshot_name,
        candidates.customer_id,
        candidates.item_id,
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

scored as {{ not_materialized() }} (
    select
        snapshot_name,
        customer_id,
        item_id,
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

new_categories as (
    -- Each category new to the customer, with its best item by the discovery blend.
    select
        snapshot_name,
        customer_id,
        category,
        item_id,
        discovery_chance
    from scored
    where is_new_category and {{ discovery_slots }} > 0
    qualify row_number() over (
            partition by snapshot_name, customer_id, category
            order by discovery_chance desc, global_share desc, item_id asc
        ) = 1
),

best_seller_categories as (
    -- The categories of the first var recommendation_discovery_rank items of a best-seller list.
    select distinct
        snapshot_name,
        category
    from scored
    where popularity_rank <= {{ discovery_rank }}
),

best_seller_doors as (
    -- The chance that the customer starts buying in at least one new category a best-seller list would
    -- show them in those positions.
    select
        new_categories.snapshot_name,
        new_categories.customer_id,
        1 - exp(cast(sum({{ exact('ln(1 - new_categories.discovery_chance)') }}) as double)) as door_chance
    from new_categories
    semi join best_seller_categories
        on {{ same_keys('new_categories', 'best_seller_categories', ['snapshot_name', 'category']) }}
    group by new_categories.snapshot_name, new_categories.customer_id
),

ordered_doors as (
    select
        new_categories.*,
        coalesce(best_seller_doors.door_chance, 0) as best_seller_door_chance,
        row_number() over (
            partition by new_categories.snapshot_name, new_categories.customer_id
            order by new_categories.discovery_chance desc, new_categories.category asc
        ) as door_order,
        -- The chance that one of the likelier new categories is taken up.
        1 - exp(coalesce(sum(ln(1 - new_categories.discovery_chance)) over (
            partition by new_categories.snapshot_name, new_categories.customer_id
            order by new_categories.discovery_chance desc, new_categories.category asc
            rows between unbounded preceding and 1 preceding
        ), 0)) as door_chance_before
    from new_categories
    left join best_seller_doors
        on {{ same_keys('new_categories', 'best_seller_doors', ['snapshot_name', 'customer_id']) }}
),

customer_doors as (
    -- Each customer's chance that their likeliest new category is taken up, and the likeliest two.
    select
        snapshot_name,
        customer_id,
        any_value(best_seller_door_chance) as best_seller_door_chance,
        max(1 - (1 - door_chance_before) * (1 - discovery_chance)) filter (where door_order = 1)
            as one_door_chance,
        max(1 - (1 - door_chance_before) * (1 - discovery_chance)) filter (where door_order = 2)
            as two_doors_chance
    from ordered_doors
    group by snapshot_name, customer_id
),

door_shortfalls as (
    -- How far one door per customer falls short, summed over customers, of the new categories a
    -- best-seller list would show them: the expected number of customers it would open fewer doors for.
    select
        snapshot_name,
        cast(sum({{ exact('best_seller_door_chance - one_door_chance') }}) as double) as shortfall
    from customer_doors
    group by snapshot_name
),

second_doors as (
    -- Second doors go where they add most, until the shortfall is made up: the fewest extra slots that
    -- keep the lists' expected new-category take-up at least that of a best-seller list.
    select
        customer_doors.snapshot_name,
        customer_doors.customer_id,
        coalesce(sum(customer_doors.two_doors_chance - customer_doors.one_door_chance) over (
            partition by customer_doors.snapshot_name
            order by
                customer_doors.two_doors_chance - customer_doors.one_door_chance desc,
                customer_doors.customer_id asc
            rows between unbounded preceding and 1 preceding
        ), 0) < door_shortfalls.shortfall as has_second_door
    from customer_doors
    inner join door_shortfalls
        on customer_doors.snapshot_name = door_shortfalls.snapshot_name
    where customer_doors.two_doors_chance is not null
),

chosen_doors as (
    select
        ordered_doors.snapshot_name,
        ordered_doors.customer_id,
        ordered_doors.item_id,
        ordered_doors.door_order
    from ordered_doors
    left join second_doors
        on {{ same_keys('ordered_doors', 'second_doors', ['snapshot_name', 'customer_id']) }}
    where
        ordered_doors.door_order = 1
        or (ordered_doors.door_order = 2 and {{ discovery_slots }} >= 2 and second_doors.has_second_door)
),

naturally_ranked as (
    select
        scored.*,
        chosen_doors.door_order,
        chosen_doors.item_id is not null as is_discovery,
        row_number() over (
            partition by scored.snapshot_name, scored.customer_id
            order by scored.score desc, scored.global_share desc, scored.item_id asc
        ) as natural_rank
    from scored
    left join chosen_doors
        on {{ same_keys('scored', 'chosen_doors', ['snapshot_name', 'customer_id', 'item_id']) }}
),

shortlist as (
    -- What can still make the list: at most two discovery items move up, so nothing else below it.
    select
        *,
        is_discovery and natural_rank > {{ discovery_rank }} as is_moved
    from naturally_ranked
    where natural_rank <= {{ list_length }} or is_discovery
),

placed as (
    select
        *,
        count(*) filter (where is_moved) over (partition by snapshot_name, customer_id) as moved_items,
        row_number() over (
            partition by snapshot_name, customer_id, is_moved
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
        on {{ same_keys('ranked', 'candidates', ['snapshot_name', 'customer_id', 'item_id']) }}
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
    from listed
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
        case
            -- A discovery item chosen partly because customers who buy one of the customer's categories
            -- often start buying in its category says so.
            when is_discovery and transition_contribution > 0 and transition_from_category is not null
                then 'category_adoption'
            else
                list_reduce(
                    group_contributions,
                    (best, candidate) -> case
                        when candidate.contribution > best.contribution then candidate else best
                    end
                ).reason_kind
        end as reason_kind,
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
        transition_from_category,
        discovery_chance,
        recommendation_rank
    from reasoned
)

select * from final
