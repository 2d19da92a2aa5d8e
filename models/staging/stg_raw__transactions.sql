with

base_transactions as (
    select * from {{ ref('base_raw__transactions') }}
),

final as (
    select
        parsed_transaction_id as transaction_id,
        parsed_customer_id as customer_id,
        parsed_transacted_at as transacted_at,
        parsed_amount as amount,
        parsed_quantity as quantity,
        parsed_status as status,
        parsed_status = 'completed' as is_purchase,
        parsed_payment_method as payment_method,
        parsed_device_id as device_id,
        parsed_ip_country as ip_country,
        parsed_channel as channel,
        source_file
    from base_transactions
    where rejection_reason is null
)

select * from final
