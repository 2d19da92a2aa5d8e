with

base_fraud_labels as (
    select * from {{ ref('base_raw__fraud_labels') }}
),

final as (
    select
        parsed_transaction_id as transaction_id,
        parsed_is_fraud as is_fraud,
        parsed_labeled_at as labeled_at,
        source_file
    from base_fraud_labels
    where rejection_reason is null
)

select * from final
