{#-
    The items worth ranking for each recommender customer as of each date: one row per snapshot, customer
    and candidate item. Five sources, var recommendation_candidates_per_source items from each but the
    last: what the customer bought most (repeat purchases), what is most related to their recent items
    (co-purchase), what their segment buys, what everyone buys (the fallback), and the best seller of each
    category the customer never bought in (so every new category has a candidate for the discovery slots).
    int_customers_recommendation_candidates adds the signals.
-#}
{%- set per_source = var('recommendation_candidates_per_source') | int -%}
{%- set customer_key = ['snapshot_name', 'customer_key'] -%}
with

population as {{ not_materialized() }} (
    select * from {{ ref('int_customers_recommendation_population') }}
),

history as (
    select * from {{ ref('int_customers_recommendation_history') }}
),

copurchase_candidates as (
    select * from {{ ref('int_customers_copurchase_candidates') }}
),

segments_item_shares as (
    select * from {{ ref('int_segments_item_shares') }}
),

category_shares as (
    select * from {{ ref('int_customers_category_shares') }}
),

items_statistics as {{ not_materialized() }} (
    select * from {{ ref('int_items_statistics') }}
),

-- The customer's most ordered items, the latest first among equals.
own_candidates as (
    {{ first_per_group(
        'history', customer_key, 'orders desc, last_bought_at desc, item_key asc', per_source
    ) }}
),

segment_top_items as (
    {{ first_per_group(
        'segments_item_shares',
        ['snapshot_name', 'segment_id'],
        'segment_share desc, item_key asc',
        per_source,
    ) }}
),

segment_candidates as (
    select
        population.snapshot_name,
        population.customer_key,
        segment_top_items.item_key
    from population
    inner join segment_top_items
        on {{ same_keys('population', 'segment_top_items', ['snapshot_name', 'segment_id']) }}
),

popular_candidates as (
    select
        population.snapshot_name,
        population.customer_key,
        items_statistics.item_key
    from population
    inner join items_statistics
        on population.snapshot_name = items_statistics.snapshot_name
    where items_statistics.popularity_rank <= {{ per_source }}
),

category_best_sellers as (
    select
        snapshot_name,
        category,
        item_key
    from items_statistics
    where rank_in_category = 1
),

new_category_candidates as (
    -- The best seller of every category the customer never bought in.
    select
        population.snapshot_name,
        population.customer_key,
        category_best_sellers.item_key
    from population
    inner join category_best_sellers
        on population.snapshot_name = category_best_sellers.snapshot_name
    {{ anti_join() }} category_shares
        on {{ same_keys('population', 'category_shares', customer_key) }}
            and category_best_sellers.category = category_shares.category
),

sourced as (
    select * from own_candidates
    union all
    select * from copurchase_candidates
    union all
    select * from segment_candidates
    union all
    select * from popular_candidates
    union all
    select * from new_category_candidates
),

final as (
    -- One distinct over all the sources (a chain of unions hashed the growing result once per source:
    -- four passes over 8 million rows at 200,000 customers instead of one).
    select distinct
        snapshot_name,
        customer_key,
        item_key
    from sourced
)

select * from final
