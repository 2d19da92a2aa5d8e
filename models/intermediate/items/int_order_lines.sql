{#-
    Every line of every completed order with its customer, time, the item's category ('unknown' when
    the item is not in the items table) and list price. The one place order lines meet their orders and
    items: the basket and category features and the recommender all read it.
-#}
with

transaction_items as (
    select * from {{ ref('stg_raw__transaction_items') }}
),

transactions as (
    select * from {{ ref('stg_raw__transactions') }}
),

items as (
    select * from {{ ref('stg_raw__items') }}
),

final as (
    select
        transaction_items.line_number,
        transactions.transaction_id,
        transactions.customer_id,
        transactions.transacted_at,
        transaction_items.item_id,
        coalesce(items.category, 'unknown') as category,
        items.item_id is not null as is_listed_item,
        transaction_items.quantity,
        transaction_items.unit_price,
        items.price as list_price,
        transaction_items.line_amount
    from transaction_items
    inner join transactions
        on transaction_items.transaction_id = transactions.transaction_id
    left join items
        on transaction_items.item_id = items.item_id
    where transactions.is_purchase
)

select * from final
