-- Every segmented customer gets var recommendations_per_customer recommendations, each with a reason,
-- whenever the catalogue has at least that many items with buyers (popular items fill in for customers
-- with little history).
with

customer_recommendations as (
    select * from {{ ref('customer_recommendations') }}
),

customer_segments as (
    select * from {{ ref('customer_segments') }}
),

items_statistics as (
    select * from {{ ref('int_items_statistics') }}
),

catalogue as (
    select count(*) as items
    from items_statistics
    where snapshot_name = 'current'
),

per_customer as (
    select
        customer_id,
        count(*) as recommendations,
        count(*) filter (where nullif(trim(reason), '') is null) as without_reason
    from customer_recommendations
    group by customer_id
),

final as (
    select
        customer_segments.customer_id,
        coalesce(per_customer.recommendations, 0) as recommendations,
        coalesce(per_customer.without_reason, 0) as without_reason
    from customer_segments
    cross join catalogue
    left join per_customer
        on customer_segments.customer_id = per_customer.customer_id
    where
        catalogue.items >= {{ var('recommendations_per_customer') | int }}
        and (
            coalesce(per_customer.recommendations, 0) < {{ var('recommendations_per_customer') | int }}
            or per_customer.without_reason > 0
        )
)

select * from final
