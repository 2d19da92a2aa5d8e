-- customer_segments has exactly one row per customer with an accepted transaction before the as-of
-- date (docs/data-contract.md): no customer missing, none extra.
with

customer_segments as (
    select * from {{ ref('customer_segments') }}
),

current_rfm as (
    select * from {{ ref('int_customers_current_rfm') }}
),

final as (
    select
        coalesce(customer_segments.customer_id, current_rfm.customer_id) as customer_id,
        case
            when customer_segments.customer_id is null then 'customer with a transaction but no segment'
            else 'segmented customer without a transaction before the as-of date'
        end as problem
    from customer_segments
    full outer join current_rfm
        on customer_segments.customer_id = current_rfm.customer_id
    where customer_segments.customer_id is null or current_rfm.customer_id is null
)

select * from final
