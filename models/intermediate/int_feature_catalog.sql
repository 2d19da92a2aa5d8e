{#-
    The feature catalog the Python models read: the seed feature_catalog plus one row per category-share
    column that int_customers_category_mix makes for this data.
-#}
{%- set categories = top_categories() %}
-- depends_on: {{ ref('int_top_categories') }}
with

feature_catalog as (
    select * from {{ ref('feature_catalog') }}
),

category_features as (
    -- The seed's columns, with no rows, so the union below holds even when there are no categories.
    select * from feature_catalog
    where false
    {%- for category in categories %}
    union all
    select
        'customer' as entity,
        '{{ category["column"] }}' as feature_name,
        'category_mix' as feature_group,
        'passthrough' as transform,
        {{ sql_string('share of spend on ' ~ category['category']) }} as label,
        {{ sql_string('Share of spend on items of category ' ~ category['category']) }} as description
    {%- endfor %}
),

final as (
    select * from feature_catalog
    union all
    select * from category_features
)

select * from final
