{#- Every raw fraud label, parsed, with the reasons it cannot be used (null when it can). -#}
-- depends_on: {{ source('raw', 'fraud_labels') }}
{{ config(post_hook=drop_raw_read('fraud_labels')) }}
with

source as (
    {{ load_raw('fraud_labels') }}
),

transactions as (
    -- The accepted transactions (what stg_raw__transactions keeps), read from the base model so that
    -- data_quality never waits on stg_raw__transactions, which stops a build with no transactions.
    select parsed_transaction_id as transaction_id from {{ ref('base_raw__transactions') }}
    where rejection_reason is null
),

parsed as (
    select
        source.*,
        {{ text_value('source.transaction_id') }} as parsed_transaction_id,
        try_cast(trim(source.is_fraud) as boolean) as parsed_is_fraud,
        {{ parse_timestamp('source.labeled_at') }} as parsed_labeled_at,
        transactions.transaction_id is not null as has_known_transaction
    from source
    left join transactions
        on {{ text_value('source.transaction_id') }} = transactions.transaction_id
),

checked as (
    select
        *,
        {{ rejection_reasons([
            ('parsed_transaction_id is null', 'missing transaction_id'),
            (is_blank('is_fraud'), 'missing is_fraud'),
            ('not ' ~ is_blank('is_fraud') ~ ' and parsed_is_fraud is null', 'unparsable is_fraud'),
            ('parsed_transaction_id is not null and not has_known_transaction',
             'orphan label: transaction_id not among accepted transactions'),
        ] + timestamp_checks('labeled_at', 'parsed_labeled_at', required=false)) }} as row_problems
    from parsed
),

final as (
    select
        *,
        {{ rejection_reason(['parsed_transaction_id'], 'duplicate transaction_id') }} as rejection_reason
    from checked
)

select * from final
