{{ config(severity='warn') }}
-- Every churn and value label (int_customers_outcomes: a customer at a past as-of date) has that
-- customer's features at the same snapshot: a label without them is left out of the models' training
-- and backtest. Warn only: the models are still right on the customers they see.
with

outcomes as (
    select * from {{ ref('int_customers_outcomes') }}
),

features as (
    select * from {{ ref('int_customers_features') }}
),

final as (
    select
        outcomes.snapshot_name,
        outcomes.as_of_date,
        outcomes.customer_id,
        'label without features at its snapshot' as problem
    from outcomes
    anti join features
        on
            outcomes.snapshot_name = features.snapshot_name
            and outcomes.customer_id = features.customer_id
)

select * from final
