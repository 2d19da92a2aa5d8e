with

base_items as (
    select * from {{ ref('base_raw__items') }}
),

final as (
    select
        parsed_item_id as item_id,
        parsed_category as category,
        parsed_brand as brand,
        parsed_price as price,
        source_file
    from base_items
    where rejection_reason is null
)

select * from final
