{#-
    What each customer bought in the horizon after each past as-of date ('training', 'backtest'): one row
    per snapshot, customer and item (by their keys) bought in [as_of_date, label_window_end_date). The
    labels the recommender learns its blend from and is backtested on; 'current' has none (its window is
    the future).
-#}
with

order_lines as (
    select * from {{ ref('int_order_lines') }}
),

customer_keys as (
    select * from {{ ref('int_recommendation_customer_keys') }}
),

item_keys as (
    select * from {{ ref('int_recommendation_item_keys') }}
),

window_lines as (
    {{ rows_as_of('order_lines', 'transacted_at', ['snapshot_name', 'as_of_date'], window='label') }}
),

final as (
    select
        {{ snapshot_key("window_lines.snapshot_name") }} as snapshot_name,
        window_lines.as_of_date,
        customer_keys.customer_key,
        item_keys.item_key,
        window_lines.category,
        count(distinct window_lines.transaction_id) as orders
    from window_lines
    inner join customer_keys
        on window_lines.customer_id = customer_keys.customer_id
    inner join item_keys
        on window_lines.item_id = item_keys.item_id
    group by all
)

select * from final
