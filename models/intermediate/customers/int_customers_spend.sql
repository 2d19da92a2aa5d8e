{#-
    Spend dynamics of every customer with a transaction before each as-of date: the rhythm of their
    orders, the trend of their spend, basket size, refunds and chargebacks, and channel and payment mix.
-#}
with

transactions as (
    select * from {{ ref('stg_raw__transactions') }}
),

visible_transactions as (
    {{ rows_as_of('transactions', 'transacted_at') }}
),

purchase_days as (
    select
        as_of_date,
        customer_id,
        cast(transacted_at as date) as purchase_date
    from visible_transactions
    where is_purchase
    group by as_of_date, customer_id, cast(transacted_at as date)
),

purchase_gaps as (
    select
        as_of_date,
        customer_id,
        {{ days_between('purchase_date', 'lag(purchase_date) over (
            partition by as_of_date, customer_id order by purchase_date
        )') }} as gap_days
    from purchase_days
),

gap_statistics as (
    select
        as_of_date,
        customer_id,
        avg(gap_days) as interpurchase_days_mean,
        {{ exact_stddev_samp('gap_days') }} as interpurchase_days_std
    from purchase_gaps
    where gap_days is not null
    group by as_of_date, customer_id
),

payment_method_counts as (
    select
        as_of_date,
        customer_id,
        payment_method,
        -- Ties go to the alphabetically first method, so the choice is deterministic.
        row_number() over (
            partition by as_of_date, customer_id
            order by count(*) desc, payment_method asc
        ) as preference_rank
    from visible_transactions
    where is_purchase and payment_method is not null
    group by as_of_date, customer_id, payment_method
),

preferred_payment_methods as (
    select
        as_of_date,
        customer_id,
        payment_method as preferred_payment_method
    from payment_method_counts
    where preference_rank = 1
),

per_customer as (
    select
        as_of_date,
        customer_id,
        count(*) filter (where is_purchase) as orders,
        coalesce(sum(amount) filter (where is_purchase), 0) as gross_revenue,
        coalesce(sum(amount) filter (
            where is_purchase and transacted_at >= as_of_date - interval 90 day
        ), 0) as spend_last_90_days,
        coalesce(sum(amount) filter (
            where is_purchase
            and transacted_at >= as_of_date - interval 180 day
            and transacted_at < as_of_date - interval 90 day
        ), 0) as spend_previous_90_days,
        avg(quantity) filter (where is_purchase) as units_per_order,
        count(*) filter (where status = 'refunded') as refunds,
        count(*) filter (where status = 'chargeback') as chargebacks,
        -coalesce(sum(amount) filter (where status in ('refunded', 'chargeback')), 0) as returned_amount,
        count(*) filter (where is_purchase and channel is not null) as orders_with_channel,
        count(*) filter (where is_purchase and channel = 'web') as web_orders,
        count(*) filter (where is_purchase and channel = 'app') as app_orders,
        count(*) filter (where is_purchase and channel = 'store') as store_orders,
        count(distinct channel) filter (where is_purchase) as distinct_channels,
        count(distinct payment_method) filter (where is_purchase) as distinct_payment_methods,
        count(distinct device_id) as distinct_devices,
        count(*) filter (where is_purchase and channel is null) = count(*) filter (where is_purchase)
            as has_no_channel,
        count(*) filter (where payment_method is null) = count(*) as has_no_payment_method,
        count(*) filter (where device_id is null) = count(*) as has_no_device
    from visible_transactions
    group by as_of_date, customer_id
),

final as (
    select
        per_customer.as_of_date,
        per_customer.customer_id,
        gap_statistics.interpurchase_days_mean,
        gap_statistics.interpurchase_days_std,
        per_customer.spend_last_90_days,
        per_customer.spend_previous_90_days,
        {{ balance('per_customer.spend_last_90_days', 'per_customer.spend_previous_90_days') }}
            as spend_trend,
        per_customer.units_per_order,
        {{ capped_share_of('per_customer.refunds', 'per_customer.orders') }} as refund_rate,
        {{ capped_share_of('per_customer.chargebacks', 'per_customer.orders') }} as chargeback_rate,
        {{ capped_share_of('per_customer.returned_amount', 'per_customer.gross_revenue') }}
            as returned_amount_share,
        {{ share_of('per_customer.web_orders', 'per_customer.orders_with_channel') }} as web_order_share,
        {{ share_of('per_customer.app_orders', 'per_customer.orders_with_channel') }} as app_order_share,
        {{ share_of('per_customer.store_orders', 'per_customer.orders_with_channel') }} as store_order_share,
        case when not per_customer.has_no_channel then per_customer.distinct_channels end
            as distinct_channels,
        case when not per_customer.has_no_payment_method then per_customer.distinct_payment_methods end
            as distinct_payment_methods,
        case when not per_customer.has_no_device then per_customer.distinct_devices end as distinct_devices,
        preferred_payment_methods.preferred_payment_method
    from per_customer
    left join gap_statistics
        on {{ same_keys('per_customer', 'gap_statistics', ['as_of_date', 'customer_id']) }}
    left join preferred_payment_methods
        on {{ same_keys('per_customer', 'preferred_payment_methods', ['as_of_date', 'customer_id']) }}
)

select * from final
