{#- Every raw behaviour event, parsed, with the reasons it cannot be used (null when it can). -#}
-- depends_on: {{ source('raw', 'events') }}
{{ config(post_hook=drop_raw_read('events')) }}
{%- set parsed_columns -%}
{{ text_value('customer_id') }} as parsed_customer_id,
{{ parse_raw_timestamp('events', 'occurred_at') }} as parsed_occurred_at,
lower({{ text_value('event_type') }}) as parsed_event_type,
{{ text_value('session_id') }} as parsed_session_id,
{{ text_value('item_id') }} as parsed_item_id
{%- endset %}
with

source as (
    {{ load_raw('events') }}
),

final as (
    {{ staged_rows('events', 'source', parsed_columns, [
        ('parsed_customer_id is null', 'missing customer_id'),
        ('parsed_event_type is null', 'missing event_type'),
    ] + timestamp_checks('occurred_at', 'parsed_occurred_at')) }}
)

select * from final
