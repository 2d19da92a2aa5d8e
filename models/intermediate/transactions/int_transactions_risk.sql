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

visible_transactions as (
    select
        transactions.transaction_id,
        transactions.customer_id,
        transactions.transacted_at,
        transactions.amount,
        transactions.status,
        transactions.is_purchase,
        transactions.payment_method,
        transactions.channel,
        transactions.device_id,
        transactions.ip_country
    from transactions
    inner join as_of_dates
        on transactions.transacted_at < as_of_dates.as_of_date
    where as_of_dates.is_current
),

customer_history as (
    select
        *,
        count(*) over customer_last_hour as customer_transactions_last_hour,
        count(*) over customer_last_day as customer_transactions_last_day,
        count(*) over customer_last_week as customer_transactions_last_week,
        -- Exact sums (see the macro exact): a window's peers come in no fixed order.
        coalesce(
            cast(sum({{ exact('amount') }}) filter (where is_purchase) over customer_last_day as double), 0
        ) as customer_purchase_amount_last_day,
        coalesce(
            cast(sum({{ exact('amount') }}) filter (where is_purchase) over customer_last_week as double), 0
        ) as customer_purchase_amount_last_week,
        count(*) over customer_before as customer_prior_transactions,
        count(*) filter (where status = 'refunded') over customer_before as prior_refunds,
        count(*) filter (where status = 'chargeback') over customer_before as prior_chargebacks,
        count(*) filter (where is_purchase) over customer_before as prior_purchases,
        cast(sum({{ exact('amount') }}) filter (where is_purchase) over customer_before as double)
        / count(*) filter (where is_purchase) over customer_before as prior_purchase_amount_mean,
        -- DuckDB's running standard deviation depends on the order of equal timestamps: rounded to a
        -- millionth, far below what the z-score reads, it is the same on every build.
        round(stddev_samp(amount) filter (where is_purchase) over customer_before, 6)
            as prior_purchase_amount_stddev
    from visible_transactions
    window
        customer_last_hour as (
            partition by customer_id
            order by transacted_at
            range between interval 1 hour preceding and current row
        ),
        customer_last_day as (
            partition by customer_id
            order by transacted_at
            range between interval 1 day preceding and current row
        ),
        customer_last_week as (
            partition by customer_id
            order by transacted_at
            range between interval 7 day preceding and current row
        ),
        customer_before as (
            partition by customer_id
            order by transacted_at
            range between unbounded preceding and current row exclude group
        )
),

customer_device_history as (
    select
        *,
        -- Earlier rows of this customer on this device; 0 on the first use.
        count(*) over (
            partition by customer_id, device_id
            order by transacted_at
            range between unbounded preceding and current row exclude group
        ) as prior_customer_device_transactions,
        -- Marks one row per (device, customer): its first, so a running sum counts distinct customers.
        row_number() over (
            partition by device_id, customer_id
            order by transacted_at, transaction_id
        ) = 1 as is_first_row_of_customer_on_device
    from customer_history
),

device_history as (
    select
        *,
        count(*) over device_last_hour as device_transactions_last_hour_any,
        count(*) over device_last_day as device_transactions_last_day_any,
        count(*) filter (where is_first_row_of_customer_on_device) over device_until_now
            as device_customers_any,
        -- Chargebacks on this device by any of its customers, dated before this row.
        count(*) filter (where status = 'chargeback') over device_before as device_prior_chargebacks_any
    from customer_device_history
    -- Rows without a device each get a partition of their own (their device features are nulled in
    -- final): one partition holding every store sale would be slow, and is meaningless.
    window
        device_last_hour as (
            partition by device_id, case when device_id is null then transaction_id end
            order by transacted_at
            range between interval 1 hour preceding and current row
        ),
        device_last_day as (
            partition by device_id, case when device_id is null then transaction_id end
            order by transacted_at
            range between interval 1 day preceding and current row
        ),
        device_until_now as (
            partition by device_id, case when device_id is null then transaction_id end
            order by transacted_at
            range between unbounded preceding and current row
        ),
        device_before as (
            partition by device_id, case when device_id is null then transaction_id end
            order by transacted_at
            range between unbounded preceding and current row exclude group
        )
),

final as (
    select
        device_history.transaction_id,
        device_history.customer_id,
        device_history.transacted_at,
        device_history.amount,
        device_history.status,
        device_history.payment_method,
        device_history.channel,
        device_history.device_id,
        device_history.ip_country,
        device_history.customer_transactions_last_hour,
        device_history.customer_transactions_last_day,
        device_history.customer_purchase_amount_last_day,
        device_history.customer_transactions_last_week,
        device_history.customer_purchase_amount_last_week,
        -- Without a device, the device features are null.
        {%- for feature in device_features %}
        case when device_history.device_id is not null then device_history.{{ feature }}_any end
            as {{ feature }},
        {%- endfor %}
        case
            when device_history.is_purchase and device_history.prior_purchases >= 2
                then
                    (device_history.amount - device_history.prior_purchase_amount_mean)
                    / nullif(device_history.prior_purchase_amount_stddev, 0)
        end as amount_zscore,
        case
            when device_history.is_purchase
                then device_history.amount / nullif(device_history.prior_purchase_amount_mean, 0)
        end as amount_to_prior_mean,
        case
            when device_history.device_id is not null
                then
                    device_history.prior_customer_device_transactions = 0
                    and device_history.customer_prior_transactions > 0
        end as is_first_device_use,
        device_history.ip_country != customers.country as is_foreign_ip,
        cast(device_history.transacted_at as date) - cast(customers.signed_up_at as date)
            as days_since_signup,
        device_history.customer_prior_transactions,
        device_history.prior_purchases,
        device_history.prior_refunds,
        device_history.prior_chargebacks,
        hour(device_history.transacted_at) as hour_of_day,
        isodow(device_history.transacted_at) in (6, 7) as is_weekend
    from device_history
    left join customers
        on device_history.customer_id = customers.customer_id
)

select * from final
