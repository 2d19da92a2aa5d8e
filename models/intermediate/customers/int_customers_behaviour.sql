{#-
    Behaviour from the events log of every customer with a transaction before each as-of date: sessions,
    active days, events by type, the view-to-cart-to-purchase funnel, recency and trend of activity.
    Null throughout when there is no events table; 0 for a customer without events when there is one.
-#}
with

events as (
    select * from {{ ref('stg_raw__events') }}
),

customers_rfm as (
    select * from {{ ref('int_customers_rfm') }}
),

customers as (
    -- Whether there is an events table at all, beside every customer of int_customers_rfm.
    select
        {{ source_has_rows(ref('stg_raw__events')) }} as has_events_source,
        as_of_date,
        customer_id,
        frequency
    from customers_rfm
),

visible_events as (
    {{ rows_as_of('events', 'occurred_at') }}
),

per_customer as (
    select
        as_of_date,
        customer_id,
        count(*) as events,
        -- Without session ids, a day of activity stands for a session.
        count(distinct coalesce(session_id, cast(cast(occurred_at as date) as {{ text_type() }})))
            as sessions,
        count(distinct cast(occurred_at as date)) as active_days,
        count(*) filter (where event_type = 'page_view') as page_views,
        count(*) filter (where event_type = 'search') as searches,
        count(*) filter (where event_type = 'add_to_cart') as add_to_carts,
        count(*) filter (where event_type = 'login') as logins,
        count(*) filter (where event_type = 'support_ticket') as support_tickets,
        max(occurred_at) as last_event_at,
        count(*) filter (where occurred_at >= as_of_date - interval 30 day) as events_last_30_days,
        count(*) filter (
            where occurred_at >= as_of_date - interval 120 day
            and occurred_at < as_of_date - interval 30 day
        ) as events_previous_90_days
    from visible_events
    group by as_of_date, customer_id
),

final as (
    select
        customers.as_of_date,
        customers.customer_id,
        {{ zero_if_present_columns('customers.has_events_source', 'per_customer', [
            'events', 'sessions', 'active_days', 'page_views', 'searches', 'add_to_carts', 'logins',
            'support_tickets',
        ]) }},
        -- Rates capped at 1 by capping the numerator: least() skips nulls, so least(1, null) would be 1.
        {{ share_of('least(per_customer.add_to_carts, per_customer.page_views)', 'per_customer.page_views') }}
            as view_to_cart_rate,
        {{ share_of(
            'least(customers.frequency, per_customer.add_to_carts)', 'per_customer.add_to_carts'
        ) }} as cart_to_purchase_rate,
        {{ days_between('customers.as_of_date', 'cast(per_customer.last_event_at as date)') }}
            as days_since_last_event,
        case when customers.has_events_source then
            {{ balance(
                'coalesce(per_customer.events_last_30_days, 0)',
                divide('coalesce(per_customer.events_previous_90_days, 0)', '3.0')
            ) }}
        end as activity_trend
    from customers
    left join per_customer
        on {{ same_keys('customers', 'per_customer', ['as_of_date', 'customer_id']) }}
)

select * from final
