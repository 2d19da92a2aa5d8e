{#-
    Point-in-time risk features of every accepted transaction dated before the current as-of date, for
    the fraud model. A feature of a transaction uses only rows of its customer or device dated up to its
    own moment, never later ones, so training on a time-respecting split sees what scoring would have
    seen. Rows that share a timestamp count as simultaneous: the windows ending at "current row" include
    all of them, the prior_ features (frame "exclude group") none of them, so no tie-break by id decides
    a feature. Missing optional inputs (no customers, no device_id or ip_country) leave their features null.
-#}
{#- The device features, null for a transaction without a device_id. -#}
{%- set device_features = [
    'device_transactions_last_hour', 'device_transactions_last_day', 'device_customers', 'device_prior_chargebacks',
] -%}
with

transactions as (
    select * from {{ ref('stg_raw__transactions') }}
),

customers as (
    select * from {{ ref('stg_raw__customers') }}
),

as_of_dates as (
    select * from {{ ref('int_as_of_dates') }}
),

visible_transactions as {{ not_materialized() }} (
    select transactions.*
    from transactions
    inner join as_of_dates
        on transactions.transacted_at < as_of_dates.as_of_date
    where as_of_dates.is_current
),

-- Each window below reads only the columns it needs and returns the transaction id with its features,
-- joined back in final: a window holds every column of its input in memory while it sorts, and at
-- 1,000,000 customers the wide rows pushed DuckDB past its memory limit.
customer_history as (
    {{ risk_customer_history('visible_transactions') }}
),

customer_device_history as (
    {{ risk_customer_device_history('visible_transactions') }}
),

device_history as (
    {{ risk_device_history('customer_device_history') }}
),

final as (
    select
        visible_transactions.transaction_id,
        visible_transactions.customer_id,
        visible_transactions.transacted_at,
        visible_transactions.amount,
        visible_transactions.status,
        visible_transactions.payment_method,
        visible_transactions.channel,
        visible_transactions.device_id,
        visible_transactions.ip_country,
        customer_history.customer_transactions_last_hour,
        customer_history.customer_transactions_last_day,
        customer_history.customer_purchase_amount_last_day,
        customer_history.customer_transactions_last_week,
        customer_history.customer_purchase_amount_last_week,
        -- Without a device, the device features are null (no row in device_history).
        {%- for feature in device_features %}
        device_history.{{ feature }},
        {%- endfor %}
        case
            when visible_transactions.is_purchase and customer_history.prior_purchases >= 2
                then
                    (visible_transactions.amount - customer_history.prior_purchase_amount_mean)
                    / nullif(customer_history.prior_purchase_amount_stddev, 0)
        end as amount_zscore,
        case
            when visible_transactions.is_purchase
                then visible_transactions.amount / nullif(customer_history.prior_purchase_amount_mean, 0)
        end as amount_to_prior_mean,
        case
            when visible_transactions.device_id is not null
                then
                    device_history.prior_customer_device_transactions = 0
                    and customer_history.customer_prior_transactions > 0
        end as is_first_device_use,
        visible_transactions.ip_country != customers.country as is_foreign_ip,
        {{ days_between(
            'cast(visible_transactions.transacted_at as date)', 'cast(customers.signed_up_at as date)'
        ) }} as days_since_signup,
        customer_history.customer_prior_transactions,
        customer_history.prior_purchases,
        customer_history.prior_refunds,
        customer_history.prior_chargebacks,
        hour(visible_transactions.transacted_at) as hour_of_day,
        {{ is_weekend('visible_transactions.transacted_at') }} as is_weekend
    from visible_transactions
    inner join customer_history
        on visible_transactions.transaction_id = customer_history.transaction_id
    left join device_history
        on visible_transactions.transaction_id = device_history.transaction_id
    left join customers
        on visible_transactions.customer_id = customers.customer_id
)

select * from final
