{#-
    Each recommender customer's share of item orders in each category they bought in before each as-of
    date: one row per snapshot, customer and category. The category-habit signal, and what makes a
    category new to a customer (no row).
-#}
with

history as (
    select * from {{ ref('int_customers_recommendation_history') }}
),

final as (
    select
        snapshot_name,
        customer_key,
        category,
        sum(orders) / sum(sum(orders)) over (partition by snapshot_name, customer_key) as category_share
    from history
    group by snapshot_name, customer_key, category
)

select * from final
