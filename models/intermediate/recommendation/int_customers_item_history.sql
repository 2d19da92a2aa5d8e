{#-
    What each customer bought of each item before each as-of date: orders, units, spend, first and last
    purchase, by customer and item key (int_recommendation_customer_keys, int_recommendation_item_keys).
    The basis of the recommender's own-history and co-purchase candidates. Empty without
    transaction_items; items missing from the items table get category 'unknown'.

    The as-of dates nest ('backtest' < 'training' < 'current'), so the lines are read and grouped once:
    one row per customer and item with its totals before each of the three dates (filtered aggregates),
    which the snapshots then pick from. No second grouping: at 200,000 customers grouping 8.6 million
    snapshot rows again was half of this model's CPU.
-#}
with

order_lines as (
    select * from {{ ref('int_order_lines') }}
),

customer_keys as (
    select * from {{ ref('int_recommendation_customer_keys') }}
),

item_keys as (
    select * from {{ ref('int_recommendation_item_keys') }}
),

periods as (
    -- Period p: the p-th as-of date in date order (int_as_of_dates has three).
    {{ as_of_periods() }}
),

period_bounds as (
    select
        max(as_of_date) filter (where period = 1) as first_date,
        max(as_of_date) filter (where period = 2) as second_date,
        max(as_of_date) filter (where period = 3) as third_date
    from periods
),

item_orders as (
    -- One row per customer, item and order: an order counts once however many lines hold the item, and
    -- the grouping below counts rows instead of keeping a set of order ids per group (a count(distinct)
    -- took 15% more CPU, measured on 200,000 customers). period: the first as-of date it is before.
    select
        customer_keys.customer_key,
        item_keys.item_key,
        order_lines.category,
        order_lines.transaction_id,
        min(order_lines.transacted_at) as transacted_at,
        sum(order_lines.quantity) as units,
        sum({{ exact('order_lines.line_amount') }}) as spend,
        case
            when min(order_lines.transacted_at) < any_value(period_bounds.first_date) then 1
            when min(order_lines.transacted_at) < any_value(period_bounds.second_date) then 2
            else 3
        end as period
    from order_lines
    inner join customer_keys
        on order_lines.customer_id = customer_keys.customer_id
    inner join item_keys
        on order_lines.item_id = item_keys.item_id
    cross join period_bounds
    where order_lines.transacted_at < period_bounds.third_date
    group by
        customer_keys.customer_key,
        item_keys.item_key,
        order_lines.category,
        order_lines.transaction_id
),

-- noqa: disable=LT02
customer_items as (
    -- Totals before each as-of date: those of period 1, of periods 1 and 2, of all three.
    select
        customer_key,
        item_key,
        category,
        min(period) as first_period,
        {%- for period in [1, 2, 3] %}
        count(*) filter (where period <= {{ period }}) as orders_{{ period }},
        sum(units) filter (where period <= {{ period }}) as units_{{ period }},
        cast(sum(spend) filter (where period <= {{ period }}) as double) as spend_{{ period }},
        min(transacted_at) filter (where period <= {{ period }}) as first_bought_at_{{ period }},
        max(transacted_at) filter (where period <= {{ period }}) as last_bought_at_{{ period }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from item_orders
    group by customer_key, item_key, category
),

final as (
    select
        {{ snapshot_key("periods.snapshot_name") }} as snapshot_name,
        periods.as_of_date,
        customer_items.customer_key,
        customer_items.item_key,
        customer_items.category,
        {%- for column in ['orders', 'units', 'spend', 'first_bought_at', 'last_bought_at'] %}
        case periods.period
            {%- for period in [1, 2] %}
            when {{ period }} then customer_items.{{ column }}_{{ period }}
            {%- endfor %}
            else customer_items.{{ column }}_3
        end as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from customer_items
    inner join periods
        on customer_items.first_period <= periods.period
)
-- noqa: enable=LT02

select * from final
