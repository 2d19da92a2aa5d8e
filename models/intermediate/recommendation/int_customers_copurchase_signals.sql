{#-
    Items related to each recommender customer's recent items (var recommendation_anchor_items of them):
    one row per snapshot, customer and related item, with the sum of the item's cosine relatedness to
    those recent items and the recent item most related to it (the "often bought with" of the reason).
    int_customers_copurchase_candidates takes each customer's most related.
-#}
with

history as (
    select * from {{ ref('int_customers_recommendation_history') }}
),

items_copurchases as (
    select * from {{ ref('int_items_copurchases') }}
),

anchors as (
    {{ recent_items('history') }}
),

final as (
    select
        anchors.snapshot_name,
        anchors.customer_key,
        items_copurchases.related_item_key as item_key,
        cast(sum({{ exact('items_copurchases.cosine') }}) as double) as copurchase_sum,
        -- The most related anchor, ties to the smaller item key, so the reason names the same anchor on
        -- every build (min_by of a unique key: an ordered first() buffered every row and ran out of memory).
        -- The key is one integer, the cosine's order then the item key (item keys are below 2^32): at
        -- 1,000,000 customers a (-cosine, item key) row compared in 53 M groups took 12 CPU s more.
        min_by(anchors.item_key, items_copurchases.cosine_order * 4294967296 + anchors.item_key)
            as anchor_item_key
    from anchors
    inner join items_copurchases
        on {{ same_keys('anchors', 'items_copurchases', ['snapshot_name', 'item_key']) }}
    group by anchors.snapshot_name, anchors.customer_key, items_copurchases.related_item_key
)

select * from final
