{#-
    What the recommender's customers (int_customers_recommendation_population) bought of each item before
    each as-of date, with their segment: one row per snapshot, customer and item. The own-history,
    co-purchase and category signals all start from it.
-#}
with

customers_item_history as (
    select * from {{ ref('int_customers_item_history') }}
),

population as (
    select * from {{ ref('int_customers_recommendation_population') }}
),

final as (
    select
        customers_item_history.*,
        population.segment_id
    from customers_item_history
    inner join population
        on {{ same_keys('customers_item_history', 'population', ['snapshot_name', 'customer_key']) }}
)

select * from final
