{#-
    Category mix of every customer with an order line before each as-of date: the share of their spend in
    each of the var top_categories most-bought categories (one column each, category_share_<category>),
    and how spread their spend is. Null without transaction_items and items tables.
-#}
{%- set categories = top_categories() %}
-- depends_on: {{ ref('int_top_categories') }}
with

transaction_items as (
    select * from {{ ref('stg_raw__transaction_items') }}
),

transactions as (
    select * from {{ ref('stg_raw__transactions') }}
),

items as (
    select * from {{ ref('stg_raw__items') }}
),

as_of_dates as (
    select * from {{ ref('int_as_of_dates') }}
),

category_spend as (
    select
        as_of_dates.as_of_date,
        transactions.customer_id,
        items.category,
        sum(transaction_items.line_amount) as spend
    from transaction_items
    inner join transactions
        on transaction_items.transaction_id = transactions.transaction_id
    inner join items
        on transaction_items.item_id = items.item_id
    inner join as_of_dates
        on transactions.transacted_at < as_of_dates.as_of_date
    where transactions.is_purchase
    group by as_of_dates.as_of_date, transactions.customer_id, items.category
),

shares as (
    select
        as_of_date,
        customer_id,
        category,
        {{ share_of('spend', 'sum(spend) over (partition by as_of_date, customer_id)') }} as spend_share
    from category_spend
),

final as (
    select
        as_of_date,
        customer_id,
        {%- for category in categories %}
        coalesce(sum(spend_share) filter (where category = {{ sql_string(category['category']) }}), 0)
            as {{ category['column'] }},
        {%- endfor %}
        count(*) as distinct_categories,
        -- Shannon entropy of the spend shares, in nats: 0 = one category only (0 - x, not -x, so it is
        -- never -0). Summed in category order, so the result is identical run after run.
        coalesce(
            0 - sum(spend_share * ln(spend_share) order by category) filter (where spend_share > 0), 0
        ) as category_entropy
    from shares
    group by as_of_date, customer_id
)

select * from final
