{#-
    The recommender's backtest, on every build: one row per model and metric. The lists are made as of
    the 'training' snapshot (one horizon before the as-of date) by the blend learned one horizon earlier
    still, and scored against what each sampled customer bought in the horizon that followed. Beside the
    blend, three baselines ranked from the same candidates: global popularity (the same items for
    everyone), the segment's most popular items, and the customer's own history (most ordered first).
    Item and category level, at 3 and 10: hit rate (share of customers with at least one hit), recall,
    NDCG; hits in categories new to the customer; catalogue coverage.
-#}
{%- set metric_names = [
    'item_hit_rate', 'item_recall', 'item_ndcg', 'category_hit_rate', 'category_recall', 'category_ndcg',
    'new_category_hit_rate', 'share_of_hits_in_new_categories', 'catalogue_coverage',
] -%}
with

scores as (
    select * from {{ ref('int_customers_recommendation_scores') }}
),

candidates as {{ not_materialized() }} (
    select * from {{ ref('int_customers_recommendation_candidates') }}
),

customers_item_outcomes as (
    select * from {{ ref('int_customers_item_outcomes') }}
),

items_statistics as (
    select * from {{ ref('int_items_statistics') }}
),

past_candidates as {{ not_materialized() }} (
    select * from candidates
    where snapshot_name = 'training'
),

-- The baselines' lists: each a ranking of past_candidates, cut at 10 in lists.
global_popularity_lists as (
    select
        'global_popularity' as model,
        customer_key,
        row_number() over (partition by customer_key order by global_share desc, item_key asc) as list_rank,
        item_key,
        category,
        is_new_category
    from past_candidates
),

segment_popularity_lists as (
    select
        'segment_popularity' as model,
        customer_key,
        row_number() over (partition by customer_key order by segment_share desc, item_key asc) as list_rank,
        item_key,
        category,
        is_new_category
    from past_candidates
    where segment_share > 0
),

own_history_lists as (
    select
        'own_history' as model,
        customer_key,
        row_number() over (
            partition by customer_key order by own_orders desc, days_since_bought asc, item_key asc
        ) as list_rank,
        item_key,
        category,
        is_new_category
    from past_candidates
    where bought_before = 1
),

lists as (
    select
        'recommender' as model,
        customer_key,
        recommendation_rank as list_rank,
        item_key,
        category,
        is_new_category
    from scores
    where snapshot_name = 'training' and recommendation_rank <= 10
    union all
    select * from global_popularity_lists
    where list_rank <= 10
    union all
    select * from segment_popularity_lists
    where list_rank <= 10
    union all
    select * from own_history_lists
    where list_rank <= 10
),

past_outcomes as (
    select * from customers_item_outcomes
    where snapshot_name = 'training'
),

evaluated_customers as (
    -- Sampled customers who bought at least one item in the horizon after the 'training' as-of date.
    -- (Equality alone in the join condition: a constant there makes DuckDB join block by block.)
    select distinct past_candidates.customer_key
    from past_candidates
    {{ semi_join() }} past_outcomes
        on past_candidates.customer_key = past_outcomes.customer_key
),

bought_items as (
    select
        past_outcomes.customer_key,
        past_outcomes.item_key,
        past_outcomes.category
    from past_outcomes
    {{ semi_join() }} evaluated_customers
        on past_outcomes.customer_key = evaluated_customers.customer_key
),

bought_categories as (
    select distinct
        customer_key,
        category
    from bought_items
),

bought_counts as (
    select
        customer_key,
        count(*) as items_bought,
        count(distinct category) as categories_bought
    from bought_items
    group by customer_key
),

cutoffs as (
    select k from (values (3), (10)) as cutoff_values (k)
),

ranks as (
    select cast(rank_position as bigint) as rank_position
    from (values (1), (2), (3), (4), (5), (6), (7), (8), (9), (10)) as rank_values (rank_position)
),

ideal_gains as (
    -- Ideal DCG with m relevant results: the sum of 1 / log2(rank + 1) over the first m ranks.
    select
        rank_position as m,
        sum(1 / log2(rank_position + 1)) over (order by rank_position) as ideal_dcg
    from ranks
),

judged as (
    select
        lists.model,
        lists.customer_key,
        lists.list_rank,
        lists.item_key,
        lists.category,
        lists.is_new_category,
        bought_items.item_key is not null as is_item_hit,
        bought_categories.category is not null as is_category_hit
    from lists
    inner join evaluated_customers
        on lists.customer_key = evaluated_customers.customer_key
    left join bought_items
        on {{ same_keys('lists', 'bought_items', ['customer_key', 'item_key']) }}
    left join bought_categories
        on {{ same_keys('lists', 'bought_categories', ['customer_key', 'category']) }}
),

category_lists as (
    -- The distinct categories of each list, ranked by where they first appear.
    select
        model,
        customer_key,
        category,
        min(list_rank) as first_rank,
        bool_or(is_category_hit) as is_category_hit,
        row_number() over (
            partition by model, customer_key order by min(list_rank), category
        ) as category_rank
    from judged
    group by model, customer_key, category
),

models as (
    select distinct model from lists
),

per_customer as (
    select
        models.model,
        cutoffs.k,
        evaluated_customers.customer_key,
        bought_counts.items_bought,
        bought_counts.categories_bought
    from models
    cross join cutoffs
    cross join evaluated_customers
    inner join bought_counts
        on evaluated_customers.customer_key = bought_counts.customer_key
),

{#- Item and category level are judged alike: hit, recall and NDCG of the list cut at k. lists: the judged
    rows (a list entry, or a list's category at its first rank); cutoff_rank: the rank k is compared with;
    gain_rank: the rank the gain discounts; relevant: what the customer bought (of items, of categories). -#}
{%- set levels = {
    'item': {
        'lists': 'judged', 'is_hit': 'is_item_hit', 'cutoff_rank': 'list_rank', 'gain_rank': 'list_rank',
        'relevant': 'items_bought',
    },
    'category': {
        'lists': 'category_lists', 'is_hit': 'is_category_hit', 'cutoff_rank': 'first_rank',
        'gain_rank': 'category_rank', 'relevant': 'categories_bought',
    },
} %}
{%- for level, judged_as in levels.items() %}
{{ level }}_level as (
    select
        per_customer.model,
        per_customer.k,
        per_customer.customer_key,
        {%- if level == 'item' %}
        coalesce(bool_or(level_lists.is_category_hit and level_lists.is_new_category), false)
            as new_category_hit,
        count(*) filter (where level_lists.is_item_hit) as item_hits,
        count(*) filter (where level_lists.is_item_hit and level_lists.is_new_category)
            as item_hits_in_new_categories,
        {%- endif %}
        coalesce(bool_or(level_lists.{{ judged_as.is_hit }}), false) as {{ level }}_hit,
        count(*) filter (where level_lists.{{ judged_as.is_hit }})
        / any_value(per_customer.{{ judged_as.relevant }}) as {{ level }}_recall,
        coalesce(
            cast(sum({{ exact(
                'case when level_lists.' ~ judged_as.is_hit ~ ' then 1 / log2(level_lists.'
                ~ judged_as.gain_rank ~ ' + 1) else 0 end'
            ) }}) as double),
            0
        ) / any_value(level_ideal.ideal_dcg) as {{ level }}_ndcg
    from per_customer
    left join {{ judged_as.lists }} as level_lists
        on {{ same_keys('per_customer', 'level_lists', ['model', 'customer_key']) }}
            and per_customer.k >= level_lists.{{ judged_as.cutoff_rank }}
    inner join ideal_gains as level_ideal
        on least(per_customer.k, per_customer.{{ judged_as.relevant }}) = level_ideal.m
    group by per_customer.model, per_customer.k, per_customer.customer_key
),
{% endfor %}
averages as (
    select
        item_level.model,
        item_level.k,
        count(*) as customers,
        avg(cast(item_level.item_hit as integer)) as item_hit_rate,
        {{ exact_mean('item_level.item_recall') }} as item_recall,
        {{ exact_mean('item_level.item_ndcg') }} as item_ndcg,
        avg(cast(category_level.category_hit as integer)) as category_hit_rate,
        {{ exact_mean('category_level.category_recall') }} as category_recall,
        {{ exact_mean('category_level.category_ndcg') }} as category_ndcg,
        avg(cast(item_level.new_category_hit as integer)) as new_category_hit_rate,
        sum(item_level.item_hits_in_new_categories) / nullif(sum(item_level.item_hits), 0)
            as share_of_hits_in_new_categories
    from item_level
    inner join category_level
        on {{ same_keys('item_level', 'category_level', ['model', 'k', 'customer_key']) }}
    group by item_level.model, item_level.k
),

catalogue as (
    select count(*) as items
    from items_statistics
    where snapshot_name = 'training'
),

coverage as (
    select
        lists.model,
        cutoffs.k,
        count(distinct lists.item_key) / any_value(catalogue.items) as catalogue_coverage
    from lists
    cross join cutoffs
    cross join catalogue
    where lists.list_rank <= cutoffs.k
    group by lists.model, cutoffs.k
),

metrics as (
    -- One row per metric of each model and cutoff.
    select
        averages.model,
        averages.k,
        averages.customers,
        metric_names.metric_name,
        case metric_names.metric_name
            {%- for metric_name in metric_names %}
            when '{{ metric_name }}'
                then {{ 'coverage' if metric_name == 'catalogue_coverage' else 'averages' }}.{{ metric_name }}
            {%- endfor %}
        end as value
    from averages
    left join coverage
        on averages.model = coverage.model and averages.k = coverage.k
    cross join (
        values
        {%- for metric_name in metric_names %}
        ('{{ metric_name }}'){{ ',' if not loop.last }}
        {%- endfor %}
    ) as metric_names (metric_name)
),

final as (
    select
        'recommendation' as task,
        model,
        metric_name || '_at_' || k as metric,
        cast(value as double) as value,
        'backtest: lists as of T - h (blend learned as of T - 2h), scored on purchases in [T - h, T); '
        || customers || ' customers'
        || case when value is null then ' (not measurable: no hit, or no list, to count it on)' else '' end
            as note
    from metrics
)

select * from final
