{#-
    The dates features are computed as of. 'current' is var('as_of_date'), or the day after the latest
    accepted transaction; 'training' and 'backtest' lie one and two prediction horizons before it, so
    models can learn from the past with labels from the window that followed.

    sample_share: the share of customers the feature models keep at that date (in_snapshot_sample). The
    past snapshots only train and backtest the models, which fit and evaluate on bounded samples (vars
    churn_fit_customers, value_fit_customers, backtest_customers, recommendation_sample_customers), so
    they hold a seeded sample of about var past_snapshot_customers customers (of everyone with a
    transaction); 'current' holds everyone. Null var, or fewer customers: everyone at every date.
-#}
{%- set as_of = var('as_of_date', none) -%}
{%- if as_of is not none and not modules.re.match('^\\d{4}-\\d{2}-\\d{2}$', as_of | string) -%}
    {{ exceptions.raise_compiler_error("var as_of_date must be a date written YYYY-MM-DD, got '" ~ as_of ~ "'") }}
{%- endif -%}
{%- set horizon = var('prediction_horizon_days') | int -%}
{%- set past_customers = var('past_snapshot_customers', none) -%}
{%- set past_customers_ok = (past_customers | string).isdigit() and past_customers | int > 0 -%}
{%- if past_customers is not none and not past_customers_ok -%}
    {{ exceptions.raise_compiler_error(
        "var past_snapshot_customers must be a positive whole number or null, got '" ~ past_customers ~ "'"
    ) }}
{%- endif -%}
{%- if as_of is not none -%}
{%- set current_as_of = "cast('" ~ as_of ~ "' as date)" -%}
{%- else -%}
{%- set current_as_of = "cast(latest_transacted_at as date) + 1" -%}
{%- endif -%}
with

transactions as (
    select * from {{ ref('stg_raw__transactions') }}
),

latest_transaction as (
    select
        max(transacted_at) as latest_transacted_at,
        {%- if past_customers is not none %}
        least(1.0, {{ past_customers | int }} / nullif(count(distinct customer_id), 0)) as past_sample_share
        {%- else %}
        1.0 as past_sample_share
        {%- endif %}
    from transactions
),

current_date_chosen as (
    select
        {{ current_as_of }} as as_of_date,
        coalesce(past_sample_share, 1.0) as past_sample_share
    from latest_transaction
),

snapshots as (
    select
        snapshot_name,
        offset_horizons
    from (
        values ('current', 0), ('training', 1), ('backtest', 2)
    ) as snapshot_values (snapshot_name, offset_horizons)
),

final as (
    select
        snapshots.snapshot_name,
        cast(current_date_chosen.as_of_date - snapshots.offset_horizons * {{ horizon }} as date)
            as as_of_date,
        {{ horizon }} as horizon_days,
        cast(current_date_chosen.as_of_date - (snapshots.offset_horizons - 1) * {{ horizon }} as date)
            as label_window_end_date,
        snapshots.snapshot_name = 'current' as is_current,
        cast(
            case
                when snapshots.snapshot_name = 'current' then 1.0
                else current_date_chosen.past_sample_share
            end as double
        ) as sample_share
    from snapshots
    cross join current_date_chosen
    where current_date_chosen.as_of_date is not null
)

select * from final
