{#-
    The windows of int_transactions_risk (each dispatched: see types.sql). DuckDB counts a window's rows
    with a filter and leaves a row's own timestamp out with `exclude group`; the default__ macros are the
    model's SQL as it was. Spark's windows take neither: there a filtered count or sum counts a case
    expression (null where the filter fails), and "the rows dated before this one" is the window up to
    and including this row's timestamp minus the rows that share it (its peers), exactly for counts and
    decimal sums. The standard deviation of the prior purchases comes from their exact decimal sums
    (n, the sum and the sum of squares), rounded to a millionth as DuckDB's running one is.
-#}

{% macro risk_customer_history(transactions) -%}
    {{ return(adapter.dispatch('risk_customer_history', 'customer_segmentation')(transactions)) }}
{%- endmacro %}

{% macro default__risk_customer_history(transactions) -%}
select
    transaction_id,
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
from {{ transactions }}
window
    {{ _risk_trailing_windows('customer', 'customer_id', ['hour', 'day', 'week']) }},
    customer_before as (
        partition by customer_id
        order by transacted_at
        range between unbounded preceding and current row exclude group
    )
{%- endmacro %}

{% macro risk_customer_device_history(transactions) -%}
    {{ return(adapter.dispatch('risk_customer_device_history', 'customer_segmentation')(transactions)) }}
{%- endmacro %}

{% macro default__risk_customer_device_history(transactions) -%}
-- Transactions without a device have no device features (null in final).
select
    transaction_id,
    customer_id,
    device_id,
    transacted_at,
    status,
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
from {{ transactions }}
where device_id is not null
{%- endmacro %}

{% macro risk_device_history(customer_device_history) -%}
    {{ return(adapter.dispatch('risk_device_history', 'customer_segmentation')(customer_device_history)) }}
{%- endmacro %}

{% macro default__risk_device_history(customer_device_history) -%}
select
    transaction_id,
    prior_customer_device_transactions,
    count(*) over device_last_hour as device_transactions_last_hour,
    count(*) over device_last_day as device_transactions_last_day,
    count(*) filter (where is_first_row_of_customer_on_device) over device_until_now as device_customers,
    -- Chargebacks on this device by any of its customers, dated before this row.
    count(*) filter (where status = 'chargeback') over device_before as device_prior_chargebacks
from {{ customer_device_history }}
window
    {{ _risk_trailing_windows('device', 'device_id', ['hour', 'day']) }},
    device_until_now as (
        partition by device_id
        order by transacted_at
        range between unbounded preceding and current row
    ),
    device_before as (
        partition by device_id
        order by transacted_at
        range between unbounded preceding and current row exclude group
    )
{%- endmacro %}

{#- The trailing windows `<name>_last_<span>` of `partition_by` ordered by transacted_at (span: hour, day
    or week), on both engines. -#}
{% macro _risk_trailing_windows(name, partition_by, spans) -%}
    {%- set intervals = {'hour': '1 hour', 'day': '1 day', 'week': '7 day'} -%}
    {%- for span in spans %}
    {{ name }}_last_{{ span }} as (
        partition by {{ partition_by }}
        order by transacted_at
        range between interval {{ intervals[span] }} preceding and current row
    ){{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- The windows "up to this row's timestamp" (upto) and "this row's timestamp" (peers) of `partition_by`
    ordered by transacted_at, for spark__ macros below: before = upto - peers. -#}
{% macro _risk_upto_and_peers(name, partition_by) -%}
    {{ name }}_upto as (
        partition by {{ partition_by }}
        order by transacted_at
        range between unbounded preceding and current row
    ),
    {{ name }}_peers as (
        partition by {{ partition_by }}, transacted_at
    )
{%- endmacro %}

{% macro spark__risk_customer_history(transactions) -%}
select
    transaction_id,
    customer_transactions_last_hour,
    customer_transactions_last_day,
    customer_transactions_last_week,
    customer_purchase_amount_last_day,
    customer_purchase_amount_last_week,
    customer_prior_transactions,
    prior_refunds,
    prior_chargebacks,
    prior_purchases,
    case
        when prior_purchases > 0 then cast(prior_purchase_amount_sum as double) / prior_purchases
    end as prior_purchase_amount_mean,
    case
        when prior_purchases >= 2
            then round(sqrt(
                cast(prior_purchases * prior_purchase_amount_squares - prior_purchase_amount_sum * prior_purchase_amount_sum as double)
                / (prior_purchases * (prior_purchases - 1))
            ), 6)
    end as prior_purchase_amount_stddev
from (
    select
        transaction_id,
        count(*) over customer_last_hour as customer_transactions_last_hour,
        count(*) over customer_last_day as customer_transactions_last_day,
        count(*) over customer_last_week as customer_transactions_last_week,
        coalesce(
            cast(sum(case when is_purchase then {{ exact('amount') }} end) over customer_last_day as double), 0
        ) as customer_purchase_amount_last_day,
        coalesce(
            cast(sum(case when is_purchase then {{ exact('amount') }} end) over customer_last_week as double), 0
        ) as customer_purchase_amount_last_week,
        count(*) over customer_upto - count(*) over customer_peers as customer_prior_transactions,
        {%- for name, condition in [
            ('prior_refunds', "status = 'refunded'"),
            ('prior_chargebacks', "status = 'chargeback'"),
            ('prior_purchases', 'is_purchase'),
        ] %}
        count(case when {{ condition }} then 1 end) over customer_upto
        - count(case when {{ condition }} then 1 end) over customer_peers as {{ name }},
        {%- endfor %}
        {%- for name, value in [
            ('prior_purchase_amount_sum', 'cast(amount as decimal(18, 2))'),
            ('prior_purchase_amount_squares', 'cast(amount as decimal(18, 2)) * cast(amount as decimal(18, 2))'),
        ] %}
        coalesce(sum(case when is_purchase then {{ value }} end) over customer_upto, 0)
        - coalesce(sum(case when is_purchase then {{ value }} end) over customer_peers, 0) as {{ name }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from {{ transactions }}
    window
        {{ _risk_trailing_windows('customer', 'customer_id', ['hour', 'day', 'week']) }},
        {{ _risk_upto_and_peers('customer', 'customer_id') }}
) as windowed
{%- endmacro %}

{% macro spark__risk_customer_device_history(transactions) -%}
select
    transaction_id,
    customer_id,
    device_id,
    transacted_at,
    status,
    count(*) over (
        partition by customer_id, device_id
        order by transacted_at
        range between unbounded preceding and current row
    )
    - count(*) over (partition by customer_id, device_id, transacted_at) as prior_customer_device_transactions,
    row_number() over (
        partition by device_id, customer_id
        order by transacted_at, transaction_id
    ) = 1 as is_first_row_of_customer_on_device
from {{ transactions }}
where device_id is not null
{%- endmacro %}

{% macro spark__risk_device_history(customer_device_history) -%}
select
    transaction_id,
    prior_customer_device_transactions,
    count(*) over device_last_hour as device_transactions_last_hour,
    count(*) over device_last_day as device_transactions_last_day,
    count(case when is_first_row_of_customer_on_device then 1 end) over device_upto as device_customers,
    count(case when status = 'chargeback' then 1 end) over device_upto
    - count(case when status = 'chargeback' then 1 end) over device_peers as device_prior_chargebacks
from {{ customer_device_history }}
window
    {{ _risk_trailing_windows('device', 'device_id', ['hour', 'day']) }},
    {{ _risk_upto_and_peers('device', 'device_id') }}
{%- endmacro %}
