{#- Every raw transaction row, parsed, with the reasons it cannot be used (null when it can). -#}
-- depends_on: {{ source('raw', 'transactions') }}
{{ config(post_hook=drop_raw_read('transactions')) }}
{%- if raw_column_present('transactions', 'transaction_id') -%}
{%- set transaction_id_expression = text_value('transaction_id') -%}
{%- else -%}
{#- No transaction_id column: derive a stable id from the row's values and position. -#}
{%- set transaction_id_expression = "'row-' || md5(concat_ws('|', customer_id, transacted_at, amount, source_row_number))" -%}
{%- endif %}
{%- set parsed_columns -%}
{{ transaction_id_expression }} as parsed_transaction_id,
{{ text_value('customer_id') }} as parsed_customer_id,
{{ parse_raw_timestamp('transactions', 'transacted_at') }} as parsed_transacted_at,
{{ parse_raw_number('transactions', 'amount', 2) }} as parsed_amount,
{{ parse_raw_number('transactions', 'quantity', 0) }} as parsed_quantity,
-- No status: completed, except that a negative amount is a refund (the contract's refund row).
coalesce(
    lower({{ text_value('status') }}),
    case when {{ parse_raw_number('transactions', 'amount', 2) }} < 0 then 'refunded' else 'completed' end
) as parsed_status,
lower({{ text_value('payment_method') }}) as parsed_payment_method,
{{ text_value('device_id') }} as parsed_device_id,
upper({{ text_value('ip_country') }}) as parsed_ip_country,
lower({{ text_value('channel') }}) as parsed_channel
{%- endset %}
with

source as (
    {{ load_raw('transactions') }}
),

final as (
    {{ staged_rows('transactions', 'source', parsed_columns, [
        ('parsed_transaction_id is null', 'missing transaction_id'),
        ('parsed_customer_id is null', 'missing customer_id'),
    ] + timestamp_checks('transacted_at', 'parsed_transacted_at') + [
        (is_blank('amount'), 'missing amount'),
        ('not ' ~ is_blank('amount') ~ ' and parsed_amount is null', 'unparsable amount'),
        ('not ' ~ is_blank('quantity') ~ ' and parsed_quantity is null', 'unparsable quantity'),
        ("parsed_status not in ('completed', 'refunded', 'chargeback')", 'unknown status'),
        ("parsed_status = 'completed' and parsed_amount < 0", 'negative amount on a completed order'),
        ("parsed_status in ('refunded', 'chargeback') and parsed_amount > 0",
         'positive amount on a refund or chargeback'),
    ], ['parsed_transaction_id'], 'duplicate transaction_id') }}
)

select * from final
