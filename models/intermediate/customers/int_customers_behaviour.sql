{#-
    Behaviour from the events log of every customer with a transaction before each as-of date: sessions,
    active days, events by type, the view-to-cart-to-purchase funnel, recency and trend of activity.
    Null throughout when there is no events table; 0 for a customer without events when there is one.

    Every event is read once: counted per customer and period between as-of dates (as_of_periods), each
    snapshot adding up the periods before its date; a session counts from the period of its first event
    (a day lies in one period). Only the events of the 120 days before each as-of date are read once per
    date, for the trend.
-#}
with

events as {{ not_materialized() }} (
    select * from {{ ref('stg_raw__events') }}
),

customers_rfm as (
    select * from {{ ref('int_customers_rfm') }}
),

periods as (
    {{ as_of_periods() }}
),

customers as (
    -- Whether there is an events table at all, beside every customer of int_customers_rfm (at the past
    -- dates, the sampled ones: in_snapshot_sample).
    select
        {{ source_has_rows(ref('stg_raw__events')) }} as has_events_source,
        customers_rfm.as_of_date,
        customers_rfm.customer_id,
        customers_rfm.frequency
    from customers_rfm
    inner join periods
        on customers_rfm.as_of_date = periods.as_of_date
            and {{ in_snapshot_sample('customers_rfm.customer_id', 'periods') }}
),

snapshot_periods as (
    {{ snapshot_periods() }}
),

dated_events as {{ not_materialized() }} (
    select
        events.customer_id,
        events.occurred_at,
        events.event_type,
        -- Without session ids, a day of activity stands for a session.
        coalesce(events.session_id, cast(cast(events.occurred_at as date) as {{ text_type() }}))
            as session_key,
        periods.period
    from events
    inner join periods
        on {{ in_period('events.occurred_at') }}
),

period_totals as (
    select
        customer_id,
        period,
        count(*) as events,
        count(distinct cast(occurred_at as date)) as active_days,
        count(*) filter (where event_type = 'page_view') as page_views,
        count(*) filter (where event_type = 'search') as searches,
        count(*) filter (where event_type = 'add_to_cart') as add_to_carts,
        count(*) filter (where event_type = 'login') as logins,
        count(*) filter (where event_type = 'support_ticket') as support_tickets,
        max(occurred_at) as last_event_at
    from dated_events
    group by customer_id, period
),

session_first_periods as (
    select
        customer_id,
        min(period) as first_period
    from dated_events
    group by customer_id, session_key
),

snapshot_sessions as (
    select
        snapshot_periods.as_of_date,
        session_first_periods.customer_id,
        count(*) as sessions
    from session_first_periods
    inner join snapshot_periods
        on session_first_periods.first_period = snapshot_periods.period
            and {{ in_snapshot_sample('session_first_periods.customer_id') }}
    group by snapshot_periods.as_of_date, session_first_periods.customer_id
),

recent_activity as (
    select
        periods.as_of_date,
        events.customer_id,
        count(*) filter (where events.occurred_at >= periods.as_of_date - interval 30 day)
            as events_last_30_days,
        count(*) filter (where events.occurred_at < periods.as_of_date - interval 30 day)
            as events_previous_90_days
    from events
    inner join periods
        on events.occurred_at < periods.as_of_date
            and events.occurred_at >= periods.as_of_date - interval 120 day
            and {{ in_snapshot_sample('events.customer_id', 'periods') }}
    group by periods.as_of_date, events.customer_id
),

snapshot_totals as (
    select
        snapshot_periods.as_of_date,
        period_totals.customer_id,
        cast(sum(period_totals.events) as bigint) as events,
        cast(sum(period_totals.active_days) as bigint) as active_days,
        cast(sum(period_totals.page_views) as bigint) as page_views,
        cast(sum(period_totals.searches) as bigint) as searches,
        cast(sum(period_totals.add_to_carts) as bigint) as add_to_carts,
        cast(sum(period_totals.logins) as bigint) as logins,
        cast(sum(period_totals.support_tickets) as bigint) as support_tickets,
        max(period_totals.last_event_at) as last_event_at
    from period_totals
    inner join snapshot_periods
        on period_totals.period = snapshot_periods.period
            and {{ in_snapshot_sample('period_totals.customer_id') }}
    group by snapshot_periods.as_of_date, period_totals.customer_id
),

per_customer as (
    select
        snapshot_totals.*,
        snapshot_sessions.sessions,
        coalesce(recent_activity.events_last_30_days, 0) as events_last_30_days,
        coalesce(recent_activity.events_previous_90_days, 0) as events_previous_90_days
    from snapshot_totals
    inner join snapshot_sessions
        on {{ same_keys('snapshot_totals', 'snapshot_sessions', ['as_of_date', 'customer_id']) }}
    left join recent_activity
        on {{ same_keys('snapshot_totals', 'recent_activity', ['as_of_date', 'customer_id']) }}
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
