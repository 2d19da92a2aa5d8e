{#-
    Basket composition of every customer with an order line (of a completed order) before each as-of
    date: how many distinct lines an order holds, and how price-sensitive the customer is: the share of
    their lines bought below the item's list price, and the average discount on them. The discount
    figures need the items table's optional price column and are null without it (or for a customer none
    of whose lines has a listed price). The list price is the items table's current one: the contract
    keeps no price history, so a past as-of date compares old lines with today's list prices.
-#}
with

order_lines as (
    select * from {{ ref('int_order_lines') }}
),

visible_lines as (
    {{ rows_as_of('order_lines', 'transacted_at') }}
),

per_customer as (
    select
        as_of_date,
        customer_id,
        count(*) as lines,
        count(distinct transaction_id) as orders_with_lines,
        count(*) filter (where list_price > 0) as priced_lines,
        -- Half a percent of slack, so a list price rounded to the cent is not read as a discount.
        count(*) filter (where list_price > 0 and unit_price < 0.995 * list_price) as discounted_lines,
        sum(quantity * list_price) filter (where list_price > 0) as list_value,
        sum(quantity * unit_price) filter (where list_price > 0) as paid_value
    from visible_lines
    group by as_of_date, customer_id
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
