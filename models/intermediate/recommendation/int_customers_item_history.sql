{#-
    What each customer bought of each item before each as-of date: orders, units, spend, first and last
    purchase. The basis of the recommender's own-history and co-purchase candidates. Empty without
    transaction_items; items missing from the items table get category 'unknown'.
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
        count(distinct order_lines.transaction_id) as orders,
        sum(order_lines.quantity) as units,
        sum(order_lines.line_amount) as spend,
        min(order_lines.transacted_at) as first_bought_at,
        max(order_lines.transacted_at) as last_bought_at
    from order_lines
    inner join as_of_dates
        on order_lines.transacted_at < as_of_dates.as_of_date
    group by
        as_of_dates.snapshot_name,
        as_of_dates.as_of_date,
        order_lines.customer_id,
        order_lines.item_id,
        order_lines.category
)

select * from final
