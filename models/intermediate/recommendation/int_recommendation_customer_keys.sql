{#-
    A whole-number key for every customer the recommender sees (a customer with features or with an order
    line): one row per customer. The recommender's intermediate tables carry these keys instead of the
    customer ids: at 200,000 customers, writing a 15-million-row table of text ids took six times the CPU
    of the same table keyed by integers, and joining on them twice the time (README, "Cost at scale").
    Keys follow the ids' order, so an ordering that breaks ties on customer_key breaks them as one on
    customer_id would; the marts (customer_recommendations, segment_item_affinity) give the ids back.
-#}
with

customers_features as (
    select * from {{ ref('int_customers_features') }}
),

order_lines as (
    select * from {{ ref('int_order_lines') }}
),

customer_ids as (
    select customer_id from customers_features
    union
    select customer_id from order_lines
),

final as (
    select
        customer_id,
        cast(row_number() over (order by customer_id) as integer) as customer_key
    from customer_ids
)

select * from final
