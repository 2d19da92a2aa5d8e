{#- Every raw order line, parsed, with the reasons it cannot be used (null when it can). -#}
-- depends_on: {{ source('raw', 'transaction_items') }}
{{ config(post_hook=drop_raw_read('transaction_items')) }}
with

source as (
    {{ load_raw('transaction_items') }}
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
        {{ text_value('source.item_id') }} as parsed_item_id,
        try_cast(trim(source.quantity) as integer) as parsed_quantity,
        try_cast(trim(source.unit_price) as decimal(18, 2)) as parsed_unit_price,
        transactions.transaction_id is not null as has_known_transaction
    from source
    left join transactions
        on {{ text_value('source.transaction_id') }} = transactions.transaction_id
),

final as (
    select
        *,
        {{ rejection_reasons([
            ('parsed_transaction_id is null', 'missing transaction_id'),
            ('parsed_item_id is null', 'missing item_id'),
            (is_blank('quantity'), 'missing quantity'),
            ('not ' ~ is_blank('quantity') ~ ' and parsed_quantity is null', 'unparsable quantity'),
            ('parsed_quantity <= 0', 'quantity not positive'),
            (is_blank('unit_price'), 'missing unit_price'),
            ('not ' ~ is_blank('unit_price') ~ ' and parsed_unit_price is null', 'unparsable unit_price'),
            ('parsed_unit_price < 0', 'negative unit_price'),
            ('parsed_transaction_id is not null and not has_known_transaction',
             'orphan line: transaction_id not among accepted transactions'),
        ]) }} as rejection_reason
    from parsed
)

select * from final
