{#-
    How each item sold before each as-of date: buyers, how many bought it again, its share of all
    buyers and its popularity rank overall and within its category. One row per snapshot and item.
-#}
with

customers_item_history as {{ not_materialized() }} (
    select * from {{ ref('int_customers_item_history') }}
),

per_item as (
    select
        snapshot_name,
        as_of_date,
        item_key,
        category,
        count(*) as buyers,
        count(*) filter (where orders >= 2) as repeat_buyers,
        sum(orders) as orders,
        cast(sum({{ exact('spend') }}) as double) as revenue
    from customers_item_history
    group by snapshot_name, as_of_date, item_key, category
),

buyers_per_snapshot as (
    select
        snapshot_name,
        count(distinct customer_key) as customers_with_items
    from customers_item_history
    group by snapshot_name
),

final as (
    select
        per_item.snapshot_name,
        per_item.as_of_date,
        per_item.item_key,
        per_item.category,
        per_item.buyers,
        per_item.repeat_buyers,
        per_item.orders,
        per_item.revenue,
        cast(per_item.repeat_buyers as double) / per_item.buyers as repeat_rate,
        cast(per_item.buyers as double) / buyers_per_snapshot.customers_with_items as share_of_buyers,
        row_number() over (
            partition by per_item.snapshot_name
            order by per_item.buyers desc, per_item.revenue desc, per_item.item_key asc
        ) as popularity_rank,
        row_number() over (
            partition by per_item.snapshot_name, per_item.category
            order by per_item.buyers desc, per_item.revenue desc, per_item.item_key asc
        ) as rank_in_category
    from per_item
    inner join buyers_per_snapshot
        on per_item.snapshot_name = buyers_per_snapshot.snapshot_name
)

select * from final
