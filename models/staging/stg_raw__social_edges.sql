with

base_social_edges as (
    select * from {{ ref('base_raw__social_edges') }}
),

final as (
    select
        parsed_customer_id as customer_id,
        parsed_related_customer_id as related_customer_id,
        parsed_relation as relation,
        parsed_created_at as created_at,
        source_file
    from base_social_edges
    where rejection_reason is null
)

select * from final
