{#-
    Every line of every completed order with its customer, time and the item's category ('unknown' when
    the item is not in the items table). The one place order lines meet their orders and items for the
    recommender's models.
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
        transaction_items.quantity,
        transaction_items.line_amount
    from transaction_items
    inner join transactions
        on transaction_items.transaction_id = transactions.transaction_id
    left join items
        on transaction_items.item_id = items.item_id
    where transactions.is_purchase
)

select * from final
