{#- Every raw item row, parsed, with the reasons it cannot be used (null when it can). -#}
-- depends_on: {{ source('raw', 'items') }}
{{ config(post_hook=drop_raw_read('items')) }}
with

source as (
    {{ load_raw('items') }}
),

parsed as (
    select
        {{ raw_star('items') }},
        {{ text_value('item_id') }} as parsed_item_id,
        lower({{ text_value('category') }}) as parsed_category,
        {{ text_value('brand') }} as parsed_brand,
        {{ parse_raw_number('items', 'price', 2) }} as parsed_price
    from source
),

final as (
    {{ validated_rows('parsed', [
        ('parsed_item_id is null', 'missing item_id'),
        ('parsed_category is null', 'missing category'),
        ('not ' ~ is_blank('price') ~ ' and parsed_price is null', 'unparsable price'),
        ('parsed_price < 0', 'negative price'),
    ], ['parsed_item_id'], 'duplicate item_id') }}
)

select * from final
