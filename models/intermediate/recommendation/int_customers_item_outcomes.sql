{#-
    What each customer bought in the horizon after each past as-of date ('training', 'backtest'): one row
    per snapshot, customer and item bought in [as_of_date, label_window_end_date). The labels the
    recommender learns its blend from and is backtested on; 'current' has none (its window is the future).
-#}
with

order_lines as (
    select * from {{ ref('int_order_lines') }}
),

window_lines as (
    {{ rows_as_of('order_lines', 'transacted_at', ['snapshot_name', 'as_of_date'], window='label') }}
),

final as (
    select
        window_lines.snapshot_name,
        window_lines.as_of_date,
        window_lines.customer_id,
        window_lines.item_id,
        window_lines.category,
        count(distinct window_lines.transaction_id) as orders
    from window_lines
    group by all
)

select * from final
