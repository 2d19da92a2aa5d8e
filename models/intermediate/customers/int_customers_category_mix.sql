{#-
    Category mix of every customer with an order line before each as-of date: the share of their spend in
    each of the var top_categories most-bought categories (one column each, category_share_<category>),
    and how spread their spend is. Null without transaction_items and items tables.

    Every line is read once: spend is summed per customer, category and period between as-of dates
    (as_of_periods), each snapshot adding up the periods before its date.
-#}
{%- set categories = top_categories() %}
-- depends_on: {{ ref('int_top_categories') }}
with

order_lines as (
    select * from {{ ref('int_order_lines') }}
),

periods as (
    {{ as_of_periods() }}
),

snapshot_periods as (
    {{ snapshot_periods() }}
),

period_spend as (
    select
        order_lines.customer_id,
        order_lines.category,
        periods.period,
        sum(order_lines.line_amount) as spend
    from order_lines
    inner join periods
        on {{ in_period('order_lines.transacted_at') }}
    where order_lines.is_listed_item
    group by order_lines.customer_id, order_lines.category, periods.period
),

category_spend as (
    select
        snapshot_periods.as_of_date,
        period_spend.customer_id,
        period_spend.category,
        sum(period_spend.spend) as spend
    from period_spend
    inner join snapshot_periods
        on period_spend.period = snapshot_periods.period
            and {{ in_snapshot_sample('period_spend.customer_id') }}
    group by snapshot_periods.as_of_date, period_spend.customer_id, period_spend.category
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
            0 - {{ sum_in_order('spend_share * ln(spend_share)', 'category') }}
            filter (where spend_share > 0),
            0
        ) as category_entropy
    from shares
    group by as_of_date, customer_id
)

select * from final
