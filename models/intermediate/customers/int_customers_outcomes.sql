{#-
    What happened in the prediction window after each past as-of date (training and backtest snapshots),
    for every customer with a transaction before it (the sampled ones: in_snapshot_sample): the labels
    churn and value models learn from.
-#}
with

transactions as (
    select * from {{ ref('stg_raw__transactions') }}
),

customers_rfm as (
    select * from {{ ref('int_customers_rfm') }}
),

as_of_dates as (
    select * from {{ ref('int_as_of_dates') }}
),

past_snapshots as (
    select *
    from as_of_dates
    where not is_current
),

window_transactions as (
    {{ rows_as_of('transactions', 'transacted_at', window='label') }}
),

window_totals as (
    select
        as_of_date,
        customer_id,
        count(*) filter (where is_purchase) as orders,
        sum(amount) as net_revenue
    from window_transactions
    group by as_of_date, customer_id
),

final as (
    select
        past_snapshots.snapshot_name,
        customers_rfm.as_of_date,
        customers_rfm.customer_id,
        coalesce(window_totals.orders, 0) = 0 as is_lapsed,
        coalesce(window_totals.orders, 0) as future_orders,
        coalesce(window_totals.net_revenue, 0) as future_revenue
    from customers_rfm
    inner join past_snapshots
        on customers_rfm.as_of_date = past_snapshots.as_of_date
            and {{ in_snapshot_sample('customers_rfm.customer_id', 'past_snapshots') }}
    left join window_totals
        on {{ same_keys('customers_rfm', 'window_totals', ['as_of_date', 'customer_id']) }}
)

select * from final
