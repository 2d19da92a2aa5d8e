{#- Every raw social link, parsed, with the reasons it cannot be used (null when it can). -#}
-- depends_on: {{ source('raw', 'social_edges') }}
{{ config(post_hook=drop_raw_read('social_edges')) }}
with

source as (
    {{ load_raw('social_edges') }}
),

parsed as (
    select
        {{ raw_star('social_edges') }},
        {{ text_value('customer_id') }} as parsed_customer_id,
        {{ text_value('related_customer_id') }} as parsed_related_customer_id,
        lower({{ text_value('relation') }}) as parsed_relation,
        {{ parse_raw_timestamp('social_edges', 'created_at') }} as parsed_created_at
    from source
),

final as (
    {{ validated_rows('parsed', [
        ('parsed_customer_id is null', 'missing customer_id'),
        ('parsed_related_customer_id is null', 'missing related_customer_id'),
        ('parsed_customer_id = parsed_related_customer_id', 'customer linked to itself'),
        ('parsed_relation is null', 'missing relation'),
        ("parsed_relation not in ('referral', 'friend')", 'unknown relation'),
    ] + timestamp_checks('created_at', 'parsed_created_at', required=false),
        key_columns=['parsed_customer_id', 'parsed_related_customer_id', 'parsed_relation'],
        duplicate_reason='duplicate link') }}
)

select * from final
