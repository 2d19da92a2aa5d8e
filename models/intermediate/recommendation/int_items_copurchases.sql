{#-
    Items bought by the same customers before each as-of date: one row per snapshot, item and related
    item, for the var recommendation_related_items most related items of each. Relatedness is the
    cosine of the two items' buyer sets, co_buyers / sqrt(buyers x related buyers), so an item related to
    everything (a best seller) does not crowd out what really goes together. Each customer's
    var recommendation_anchor_items most recent items are paired, which bounds the work per customer.
-#}
with

customers_item_history as (
    select * from {{ ref('int_customers_item_history') }}
),

items_statistics as {{ not_materialized() }} (
    select * from {{ ref('int_items_statistics') }}
),

recent_items as (
    {{ recent_items('customers_item_history') }}
),

pairs as (
    select
        recent_items.snapshot_name,
        recent_items.item_key,
        related.item_key as related_item_key,
        count(*) as co_buyers
    from recent_items
    inner join recent_items as related
        on {{ same_keys('recent_items', 'related', ['snapshot_name', 'customer_key']) }}
            and recent_items.item_key != related.item_key
    group by recent_items.snapshot_name, recent_items.item_key, related.item_key
    having count(*) >= 2
),

scored as (
    select
        pairs.snapshot_name,
        pairs.item_key,
        pairs.related_item_key,
        related_statistics.category as related_category,
        pairs.co_buyers,
        pairs.co_buyers / sqrt(cast(item_statistics.buyers as double) * related_statistics.buyers) as cosine
    from pairs
    inner join items_statistics as item_statistics
        on {{ same_keys('pairs', 'item_statistics', ['snapshot_name', 'item_key']) }}
    inner join items_statistics as related_statistics
        on pairs.snapshot_name = related_statistics.snapshot_name
            and pairs.related_item_key = related_statistics.item_key
),

ranked as (
    select
        *,
        row_number() over (
            partition by snapshot_name, item_key
            order by cosine desc, co_buyers desc, related_item_key asc
        ) as related_rank
    from scored
),

kept as (
    select * from ranked
    where related_rank <= {{ var('recommendation_related_items') | int }}
),

final as (
    select
        *,
        -- The cosine's place among the snapshot's (1 for the highest, equal cosines share it): an integer
        -- that orders pairs exactly as the cosine does, for keys that must be one number (see
        -- int_customers_copurchase_signals).
        dense_rank() over (partition by snapshot_name order by cosine desc) as cosine_order
    from kept
)

select * from final
