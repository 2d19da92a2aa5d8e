{#-
    What each customer bought of each item before each as-of date: orders, units, spend, first and last
    purchase. The basis of the recommender's own-history and co-purchase candidates. Empty without
    transaction_items; items missing from the items table get category 'unknown'.

    The as-of dates nest ('backtest' < 'training' < 'current'), so each line is counted once, in the
    period between consecutive as-of dates it falls in, and a snapshot adds up the periods before its
    date: the lines are read and grouped once, not once per snapshot.
-#}
with

order_lines as (
    select * from {{ ref('int_order_lines') }}
),

as_of_dates as (
    select * from {{ ref('int_as_of_dates') }}
),

periods as (
    -- Period p holds the lines before the p-th as-of date (in date order) and on or after the one before.
    select
        snapshot_name,
        as_of_date,
        row_number() over (order by as_of_date) as period
    from as_of_dates
),

snapshot_periods as (
    -- Which periods each snapshot adds up: those up to its own (an equality join below, not a range one).
    select
        periods.snapshot_name,
        periods.as_of_date,
        earlier.period
    from periods
    inner join periods as earlier
        on periods.period >= earlier.period
),

period_bounds as (
    -- int_as_of_dates has three as-of dates.
    select
        max(as_of_date) filter (where period = 1) as first_date,
        max(as_of_date) filter (where period = 2) as second_date,
        max(as_of_date) filter (where period = 3) as third_date
    from periods
),

lines_by_period as (
    select
        order_lines.customer_id,
        order_lines.item_id,
        order_lines.category,
        case
            when order_lines.transacted_at < period_bounds.first_date then 1
            when order_lines.transacted_at < period_bounds.second_date then 2
            when order_lines.transacted_at < period_bounds.third_date then 3
        end as period,
        count(distinct order_lines.transaction_id) as orders,
        sum(order_lines.quantity) as units,
        cast(sum({{ exact('order_lines.line_amount') }}) as double) as spend,
        min(order_lines.transacted_at) as first_bought_at,
        max(order_lines.transacted_at) as last_bought_at
    from order_lines
    cross join period_bounds
    where order_lines.transacted_at < period_bounds.third_date
    group by all
),

final as (
    select
        snapshot_periods.snapshot_name,
        snapshot_periods.as_of_date,
        lines_by_period.customer_id,
        lines_by_period.item_id,
        lines_by_period.category,
        cast(sum(lines_by_period.orders) as bigint) as orders,
        sum(lines_by_period.units) as units,
        cast(sum({{ exact('lines_by_period.spend') }}) as double) as spend,
        min(lines_by_period.first_bought_at) as first_bought_at,
        max(lines_by_period.last_bought_at) as last_bought_at
    from lines_by_period
    inner join snapshot_periods
        on lines_by_period.period = snapshot_periods.period
    group by
        snapshot_periods.snapshot_name,
        snapshot_periods.as_of_date,
        lines_by_period.customer_id,
        lines_by_period.item_id,
        lines_by_period.category
)

select * from final
