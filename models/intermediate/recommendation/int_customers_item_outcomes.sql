{#-
    What each customer bought in the horizon after each past as-of date ('training', 'backtest'): one row
    per snapshot, customer and item bought in [as_of_date, label_window_end_date). The labels the
    recommender learns its blend from and is backtested on; 'current' has none (its window is the future).
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

as_of_dates as (
    select * from {{ ref('int_as_of_dates') }}
),

final as (
    select
        as_of_dates.snapshot_name,
        as_of_dates.as_of_date,
        transactions.customer_id,
        transaction_items.item_id,
        coalesce(items.category, 'unknown') as category,
        count(distinct transactions.transaction_id) as orders
    from transaction_items
    inner join transactions
        on transaction_items.transaction_id = transactions.transaction_id
    inner join as_of_dates
        on transactions.transacted_at >= as_of_dates.as_of_date
            and transactions.transacted_at < as_of_dates.label_window_end_date
    left join items
        on transaction_items.item_id = items.item_id
    where transactions.is_purchase and not as_of_dates.is_current
    group by
        as_of_dates.snapshot_name,
        as_of_dates.as_of_date,
        transactions.customer_id,
        transaction_items.item_id,
        coalesce(items.category, 'unknown')
)

select * from final
