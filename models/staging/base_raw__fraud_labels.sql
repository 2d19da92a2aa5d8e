{#- Every raw fraud label, parsed, with the reasons it cannot be used (null when it can). -#}
-- depends_on: {{ source('raw', 'fraud_labels') }}
{{ config(post_hook=drop_raw_read('fraud_labels')) }}
with

source as (
    {{ load_raw('fraud_labels') }}
),

parsed as (
    select
        {{ raw_star('fraud_labels') }},
        {{ text_value('transaction_id') }} as parsed_transaction_id,
        try_cast(trim(is_fraud) as boolean) as parsed_is_fraud,
        {{ parse_raw_timestamp('fraud_labels', 'labeled_at') }} as parsed_labeled_at,
        {{ is_accepted_transaction(text_value('transaction_id')) }} as has_known_transaction
    from source
),

final as (
    {{ validated_rows('parsed', [
        ('parsed_transaction_id is null', 'missing transaction_id'),
        (is_blank('is_fraud'), 'missing is_fraud'),
        ('not ' ~ is_blank('is_fraud') ~ ' and parsed_is_fraud is null', 'unparsable is_fraud'),
        ('parsed_transaction_id is not null and not has_known_transaction',
         'orphan label: transaction_id not among accepted transactions'),
    ] + timestamp_checks('labeled_at', 'parsed_labeled_at', required=false),
        key_columns=['parsed_transaction_id'], duplicate_reason='duplicate transaction_id') }}
)

select * from final
