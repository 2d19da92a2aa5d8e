with

customers_scored as (
    select * from {{ ref('int_customers_scored') }}
),

final as (
    select * from customers_scored
)

select * from final
