{#-
    Point-in-time risk features of every accepted transaction dated before the current as-of date, for
    the fraud model. A feature of a transaction uses only rows of its customer or device dated up to its
    own moment, never later ones, so training on a time-respecting split sees what scoring would have
    seen. Rows that share a timestamp count as simultaneous: the windows ending at "current row" include
    all of them, the prior_ features (frame "exclude group") none of them, so no tie-break by id decides
    a feature. Missing optional inputs (no customers, no device_id or ip_country) leave their features null.

    Built incrementally (var incremental_risk_features, DuckDB): the features of a transaction depend only
    on the rows of its customer and device up to its moment, so when the table built last time still
    stands, was built by the same SQL (features_fingerprint) and nothing forces a full build
    (--full-refresh), only the transactions whose features can have moved are computed again: every
    transaction of a customer or device that has a transaction new, changed, removed, newly visible (the
    as-of date moved) or no longer visible since then, over those customers' and devices' whole history,
    and every transaction of a customer whose row in the customers table changed what it gives
    (is_foreign_ip, days_since_signup). An incremental model (delete+insert on transaction_id): those rows
    replace theirs, the others stay in place unwritten, and the post-hook deletes the rows of transactions
    no longer visible (before, the stored rows were read and the table written whole again: at 1,000,000
    customers 8.7 M rows, 67 s of a daily build). The table is the one a full build gives, row for row
    (tests/e2e/test_freshness.py).
-#}
{#- On other engines (Spark) a table built whole every time: dbt-spark has no delete+insert, and the reuse
    of stored rows is DuckDB's (stored_rows_can_reuse). -#}
{{ config(
    materialized=('incremental' if target.type == 'duckdb' else 'table'),
    incremental_strategy='delete+insert',
    unique_key='transaction_id',
    on_schema_change='sync_all_columns',
    post_hook=(
        "{% if is_incremental() %}"
        "delete from {{ this }} where transaction_id not in ("
        "with transactions as (select * from {{ ref('stg_raw__transactions') }})"
        " select transaction_id from ({{ rows_as_of('transactions', 'transacted_at', [], 'current') }}))"
        "{% endif %}"
    ),
) }}
{#- The columns read from the customers table, for a transaction aliased {0} joined to `customers`: computed
    in final, and compared with the stored rows to find the customers whose row changed them. -#}
{%- set customer_columns = {
    'is_foreign_ip': '{0}.ip_country != customers.country',
    'days_since_signup': days_between('cast({0}.transacted_at as date)', 'cast(customers.signed_up_at as date)'),
} -%}
{#- The device features, null for a transaction without a device_id. -#}
{%- set device_features = [
    'device_transactions_last_hour', 'device_transactions_last_day', 'device_customers', 'device_prior_chargebacks',
] -%}
{#- The columns of a transaction the features are computed from: a stored row whose columns match a
    visible transaction's is the same transaction. -#}
{%- set input_columns = [
    'transaction_id', 'customer_id', 'transacted_at', 'amount', 'status', 'payment_method', 'channel',
    'device_id', 'ip_country',
] -%}
{#- The SQL the stored rows were computed by: this model's code and the windows' macros as rendered. -#}
{%- set fingerprint = local_md5(
    model.raw_code ~ '|' ~ risk_customer_history('t') ~ '|' ~ risk_customer_device_history('t') ~ '|'
    ~ risk_device_history('t')
) -%}
{%- set reuse = var('incremental_risk_features', true) and is_incremental()
    and stored_rows_can_reuse(fingerprint, 'features_fingerprint') -%}
{%- if reuse %}
{{ log('int_transactions_risk: computing the features of the transactions whose customer or device'
    ~ ' changed since the last build', info=true) }}
{%- endif %}
with

transactions as (
    select * from {{ ref('stg_raw__transactions') }}
),

customers as (
    select * from {{ ref('stg_raw__customers') }}
),

visible_transactions as {{ not_materialized() }} (
    -- The transactions the current as-of date sees; the post-hook keeps the table to these.
    {{ rows_as_of('transactions', 'transacted_at', [], 'current') }}
),
{%- if reuse %}

stored as {{ not_materialized() }} (
    select * from {{ this }}
),

changed_transactions as (
    -- Visible transactions no stored row matches, and stored rows no visible transaction matches.
    (
        select {{ input_columns | join(', ') }} from visible_transactions
        except
        select {{ input_columns | join(', ') }} from stored
    )
    union all
    (
        select {{ input_columns | join(', ') }} from stored
        except
        select {{ input_columns | join(', ') }} from visible_transactions
    )
),

customers_moved as (
    -- Customers whose stored rows the customers table now gives other values (a changed country or
    -- sign-up date, a customer row removed or added).
    select distinct stored.customer_id
    from stored
    left join customers
        on stored.customer_id = customers.customer_id
    where
        {%- for column, expression in customer_columns.items() %}
        {{ 'or ' if not loop.first }}stored.{{ column }} is distinct from ({{ expression.format('stored') }})
        {%- endfor %}
),

changed_customers as (
    select customer_id from changed_transactions
    union
    select customer_id from customers_moved
),

changed_devices as (
    select distinct device_id from changed_transactions
    where device_id is not null
),

windowed_transactions as (
    -- The transactions whose features can have moved: of a changed customer or device.
    select visible_transactions.*
    from visible_transactions
    where
        customer_id in (select changed_customers.customer_id from changed_customers)
        or device_id in (select changed_devices.device_id from changed_devices)
),

window_customers as (
    select distinct customer_id from windowed_transactions
),

window_devices as (
    select distinct device_id from windowed_transactions
    where device_id is not null
),

window_input as (
    -- Every transaction of those transactions' customers and devices: their windows' whole history.
    select visible_transactions.*
    from visible_transactions
    where
        customer_id in (select window_customers.customer_id from window_customers)
        or device_id in (select window_devices.device_id from window_devices)
),
{%- else %}

windowed_transactions as {{ not_materialized() }} (
    select * from visible_transactions
),

window_input as {{ not_materialized() }} (
    select * from visible_transactions
),
{%- endif %}

-- Each window below reads only the columns it needs and returns the transaction id with its features,
-- joined back in windowed: a window holds every column of its input in memory while it sorts, and at
-- 1,000,000 customers the wide rows pushed DuckDB past its memory limit.
customer_history as (
    {{ risk_customer_history('window_input') }}
),

customer_device_history as (
    {{ risk_customer_device_history('window_input') }}
),

device_history as (
    {{ risk_device_history('customer_device_history') }}
),

windowed as (
    select
        {%- for column in input_columns %}
        windowed_transactions.{{ column }},
        {%- endfor %}
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
            when windowed_transactions.is_purchase and customer_history.prior_purchases >= 2
                then
                    (windowed_transactions.amount - customer_history.prior_purchase_amount_mean)
                    / nullif(customer_history.prior_purchase_amount_stddev, 0)
        end as amount_zscore,
        case
            when windowed_transactions.is_purchase
                then windowed_transactions.amount / nullif(customer_history.prior_purchase_amount_mean, 0)
        end as amount_to_prior_mean,
        case
            when windowed_transactions.device_id is not null
                then
                    device_history.prior_customer_device_transactions = 0
                    and customer_history.customer_prior_transactions > 0
        end as is_first_device_use,
        customer_history.customer_prior_transactions,
        customer_history.prior_purchases,
        customer_history.prior_refunds,
        customer_history.prior_chargebacks,
        hour(windowed_transactions.transacted_at) as hour_of_day,
        {{ is_weekend('windowed_transactions.transacted_at') }} as is_weekend
    from windowed_transactions
    inner join customer_history
        on windowed_transactions.transaction_id = customer_history.transaction_id
    left join device_history
        on windowed_transactions.transaction_id = device_history.transaction_id
),
{%- if reuse %}

featured as (
    -- Only the rows computed again: the stored features of every other visible transaction stay in the
    -- table (delete+insert replaces these rows by transaction_id).
    select * from windowed
),
{%- else %}

featured as {{ not_materialized() }} (
    select * from windowed
),
{%- endif %}

final as (
    select
        {%- for column in input_columns %}
        featured.{{ column }},
        {%- endfor %}
        featured.customer_transactions_last_hour,
        featured.customer_transactions_last_day,
        featured.customer_purchase_amount_last_day,
        featured.customer_transactions_last_week,
        featured.customer_purchase_amount_last_week,
        {%- for feature in device_features %}
        featured.{{ feature }},
        {%- endfor %}
        featured.amount_zscore,
        featured.amount_to_prior_mean,
        featured.is_first_device_use,
        {%- for column, expression in customer_columns.items() %}
        {{ expression.format('featured') }} as {{ column }},
        {%- endfor %}
        featured.customer_prior_transactions,
        featured.prior_purchases,
        featured.prior_refunds,
        featured.prior_chargebacks,
        featured.hour_of_day,
        featured.is_weekend,
        {{ sql_string(fingerprint) }} as features_fingerprint
    from featured
    left join customers
        on featured.customer_id = customers.customer_id
)

select * from final
