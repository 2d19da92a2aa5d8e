with

base_customers as (
    select * from {{ ref('base_raw__customers') }}
),

final as (
    select
        parsed_customer_id as customer_id,
        parsed_signed_up_at as signed_up_at,
        parsed_country as country,
        parsed_birth_year as birth_year,
        parsed_gender as gender,
        parsed_acquisition_channel as acquisition_channel,
        source_file
    from base_customers
    where rejection_reason is null
)

select * from final
