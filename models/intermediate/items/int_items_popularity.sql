{#- How popular each item is before the current as-of date, overall and within its category. -#}
with

customers_item_spend as (
    select * from {{ ref('int_customers_item_spend') }}
),

per_item as (
    select
        item_id,
        category,
        count(*) as buyers,
        sum(units) as units,
        sum(spend) as revenue
    from customers_item_spend
    group by item_id, category
),

final as (
    select
        item_id,
        category,
        buyers,
        units,
        revenue,
        cast(buyers as double) / sum(buyers) over (partition by category) as share_of_category_buyers,
        row_number() over (partition by category order by buyers desc, revenue desc, item_id asc)
            as rank_in_category
    from per_item
)

select * from final
