{#-
    The var top_categories most-bought item categories, by spend before the current as-of date: each
    becomes a feature column category_share_<category> of int_customers_category_mix.
-#}
with

order_lines as (
    select * from {{ ref('int_order_lines') }}
),

current_lines as (
    {{ rows_as_of('order_lines', 'transacted_at', ['is_current']) }}
),

category_spend as (
    select
        category,
        sum(line_amount) as spend
    from current_lines
    where is_current and is_listed_item
    group by category
),

ranked as (
    select
        category,
        spend,
        row_number() over (order by spend desc, category asc) as category_rank,
        'category_share_'
        || {{ trim_characters(regexp_replace_all('lower(category)', "'[^a-z0-9]+'", "'_'"), "'_'") }}
            as slug_name
    from category_spend
),

top_ranked as (
    select * from ranked
    where category_rank <= {{ var('top_categories') | int }}
),

final as (
    select
        category,
        category_rank,
        spend,
        -- Two categories that differ only in punctuation would share a name: the later one gets its rank.
        case
            when row_number() over (partition by slug_name order by category_rank) > 1
                then slug_name || '_' || category_rank
            else slug_name
        end as feature_name
    from top_ranked
)

select * from final
