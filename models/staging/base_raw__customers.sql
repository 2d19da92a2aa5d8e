{#- Every raw customer row, parsed, with the reasons it cannot be used (null when it can). -#}
-- depends_on: {{ source('raw', 'customers') }}
{{ config(post_hook=drop_raw_read('customers')) }}
with

source as (
    {{ load_raw('customers') }}
),

parsed as (
    select
        {{ raw_star('customers') }},
        {{ text_value('customer_id') }} as parsed_customer_id,
        {{ parse_raw_timestamp('customers', 'signed_up_at') }} as parsed_signed_up_at,
        upper({{ text_value('country') }}) as parsed_country,
        {{ parse_raw_number('customers', 'birth_year', 0) }} as parsed_birth_year,
        lower({{ text_value('gender') }}) as parsed_gender,
        lower({{ text_value('acquisition_channel') }}) as parsed_acquisition_channel
    from source
),

final as (
    {{ validated_rows('parsed', [
        ('parsed_customer_id is null', 'missing customer_id'),
    ] + timestamp_checks('signed_up_at', 'parsed_signed_up_at') + [
        ('not ' ~ is_blank('birth_year') ~ ' and parsed_birth_year is null', 'unparsable birth_year'),
        ('parsed_birth_year < 1900 or parsed_birth_year > year(' ~ build_started_at() ~ ')',
         'birth_year out of range'),
    ], ['parsed_customer_id'], 'duplicate customer_id') }}
)

select * from final
