{#-
    A whole-number key for every item bought (int_order_lines): one row per item.
    The recommender's intermediate tables carry these keys instead of the item ids
    (int_recommendation_customer_keys says why). Keys follow the ids' order, so an ordering that breaks
    ties on item_key breaks them as one on item_id would.
-#}
with

order_lines as (
    select * from {{ ref('int_order_lines') }}
),

item_ids as (
    select distinct item_id from order_lines
),

final as (
    select
        item_id,
        cast(row_number() over (order by item_id) as integer) as item_key
    from item_ids
)

select * from final
