{#-
    Basket composition of every customer with an order line (of a completed order) before each as-of
    date: how many distinct lines an order holds, and how price-sensitive the customer is: the share of
    their lines bought below the item's list price, and the average discount on them. The discount
    figures need the items table's optional price column and are null without it (or for a customer none
    of whose lines has a listed price). The list price is the items table's current one: the contract
    keeps no price history, so a past as-of date compares old lines with today's list prices.

    Every line is read once: counted per customer and period between as-of dates (as_of_periods), each
    snapshot adding up the periods before its date (an order's lines share its period).
-#}
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

period_totals as (
    select
        order_lines.customer_id,
        periods.period,
        count(*) as lines,
        count(distinct order_lines.transaction_id) as orders_with_lines,
        count(*) filter (where order_lines.list_price > 0) as priced_lines,
        -- Half a percent of slack, so a list price rounded to the cent is not read as a discount.
        count(*) filter (
            where order_lines.list_price > 0 and order_lines.unit_price < 0.995 * order_lines.list_price
        ) as discounted_lines,
        sum(order_lines.quantity * order_lines.list_price) filter (where order_lines.list_price > 0)
            as list_value,
        sum(order_lines.quantity * order_lines.unit_price) filter (where order_lines.list_price > 0)
            as paid_value
    from order_lines
    inner join periods
        on {{ in_period('order_lines.transacted_at') }}
    group by order_lines.customer_id, periods.period
),

per_customer as (
    select
        snapshot_periods.as_of_date,
        period_totals.customer_id,
        sum(period_totals.lines) as lines,
        sum(period_totals.orders_with_lines) as orders_with_lines,
        sum(period_totals.priced_lines) as priced_lines,
        sum(period_totals.discounted_lines) as discounted_lines,
        sum(period_totals.list_value) as list_value,
        sum(period_totals.paid_value) as paid_value
    from period_totals
    inner join snapshot_periods
        on period_totals.period = snapshot_periods.period
            and {{ in_snapshot_sample('period_totals.customer_id') }}
    group by snapshot_periods.as_of_date, period_totals.customer_id
),

final as (
    select
        as_of_date,
        customer_id,
        {{ share_of('lines', 'orders_with_lines') }} as lines_per_order,
        {{ share_of('discounted_lines', 'priced_lines') }} as discounted_line_share,
        -- Clamped at 0: a line sold above list price is no negative discount on the others.
        case when list_value > 0 then greatest(0, 1 - {{ divide('paid_value', 'list_value') }}) end
            as average_discount
    from per_customer
)

select * from final
