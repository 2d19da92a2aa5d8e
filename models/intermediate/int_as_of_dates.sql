{#-
    The dates features are computed as of. 'current' is var('as_of_date'), or the day after the latest
    accepted transaction; 'training' and 'backtest' lie one and two prediction horizons before it, so
    models can learn from the past with labels from the window that followed.
-#}
{%- set as_of = var('as_of_date', none) -%}
{%- if as_of is not none and not modules.re.match('^\\d{4}-\\d{2}-\\d{2}$', as_of | string) -%}
    {{ exceptions.raise_compiler_error("var as_of_date must be a date written YYYY-MM-DD, got '" ~ as_of ~ "'") }}
{%- endif -%}
{%- set horizon = var('prediction_horizon_days') | int -%}
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
    select max(transacted_at) as latest_transacted_at
    from transactions
),

current_date_chosen as (
    select {{ current_as_of }} as as_of_date
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
        snapshots.snapshot_name = 'current' as is_current
    from snapshots
    cross join current_date_chosen
    where current_date_chosen.as_of_date is not null
)

select * from final
