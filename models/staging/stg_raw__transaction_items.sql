with

base_transaction_items as (
    select * from {{ ref('base_raw__transaction_items') }}
),

final as (
    select
        parsed_transaction_id as transaction_id,
        parsed_item_id as item_id,
        source_row_number as line_number,
        parsed_quantity as quantity,
        parsed_unit_price as unit_price,
        parsed_quantity * parsed_unit_price as line_amount,
        source_file
    from base_transaction_items
    where rejection_reason is null
)

select * from final
