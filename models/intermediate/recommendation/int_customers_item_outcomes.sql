{#-
    What each customer bought in the horizon after each past as-of date ('training', 'backtest'): one row
    per snapshot, customer and item bought in [as_of_date, label_window_end_date). The labels the
    recommender learns its blend from and is backtested on; 'current' has none (its window is the future).
-#}
with

order_lines as (
    select * from {{ ref('int_order_lines') }}
),

as_of_dates as (
    select * from {{ ref('int_as_of_dates') }}
),

final as (
    select
        as_of_dates.snapshot_name,
        as_of_dates.as_of_date,
        order_lines.customer_id,
        order_lines.item_id,
        order_lines.category,
        count(distinct order_lines.transaction_id) as orders
    from order_lines
    inner join as_of_dates
        on order_lines.transacted_at >= as_of_dates.as_of_date
            and order_lines.transacted_at < as_of_dates.label_window_end_date
    where not as_of_dates.is_current
    group by
        as_of_dates.snapshot_name,
        as_of_dates.as_of_date,
        order_lines.customer_id,
        order_lines.item_id,
        order_lines.category
)

select * from final
