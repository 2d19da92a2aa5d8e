{#- What each customer bought of each item before the current as-of date: the basis of affinity and
    recommendations. Empty without transaction_items; category 'unknown' for items missing from items. -#}
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

as_of_dates as (
    select * from {{ ref('int_as_of_dates') }}
),

current_date_chosen as (
    select as_of_date
    from as_of_dates
    where is_current
),

final as (
    select
        transactions.customer_id,
        transaction_items.item_id,
        coalesce(items.category, 'unknown') as category,
        sum(transaction_items.line_amount) as spend,
        sum(transaction_items.quantity) as units,
        count(distinct transactions.transaction_id) as orders,
        max(transactions.transacted_at) as last_bought_at
    from transaction_items
    inner join transactions
        on transaction_items.transaction_id = transactions.transaction_id
    cross join current_date_chosen
    left join items
        on transaction_items.item_id = items.item_id
    where
        transactions.is_purchase
        and transactions.transacted_at < current_date_chosen.as_of_date
    group by transactions.customer_id, transaction_items.item_id, coalesce(items.category, 'unknown')
)

select * from final
