{#- Every raw order line, parsed, with the reasons it cannot be used (null when it can). -#}
-- depends_on: {{ source('raw', 'transaction_items') }}
{{ config(post_hook=drop_raw_read('transaction_items')) }}
{%- set parsed_columns -%}
{{ text_value('transaction_id') }} as parsed_transaction_id,
{{ text_value('item_id') }} as parsed_item_id,
{{ parse_raw_number('transaction_items', 'quantity', 0) }} as parsed_quantity,
{{ parse_raw_number('transaction_items', 'unit_price', 2) }} as parsed_unit_price,
{{ is_accepted_transaction(text_value('transaction_id')) }} as has_known_transaction
{%- endset %}
with

source as (
    {{ load_raw('transaction_items') }}
),

final as (
    {#- recheck: a line kept from the last build must still belong to an accepted transaction. -#}
    {{ staged_rows('transaction_items', 'source', parsed_columns, [
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
    ], recheck=is_accepted_transaction('stored.parsed_transaction_id')) }}
)

select * from final
