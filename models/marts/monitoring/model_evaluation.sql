with

segmentation_model_evaluation as (
    select * from {{ ref('segmentation_model_evaluation') }}
),

churn_value_model_versions as (
    select * from {{ ref('churn_value_model_versions') }}
),

fraud_model_versions as (
    select * from {{ ref('fraud_model_versions') }}
),

recommendations_backtest as (
    select * from {{ ref('int_recommendations_backtest') }}
),

as_of_dates as (
    select * from {{ ref('int_as_of_dates') }}
),

churn_value_evaluation as (
    select
        task,
        model,
        metric,
        try_cast(value as double) as value,
        model_version,
        as_of_date,
        'backtest: fit as of T - 2h, evaluated on the outcomes of [T - h, T) of n customers (a seeded '
        || 'sample when the snapshot holds more than var backtest_customers)' as note
    from ({{ latest_version_metric_rows('churn_value_model_versions', '$.backtest', 'JSON') }})
    -- The 'method' rows say which path each model took (text, in model_registry's metrics); a metric
    -- that could not be measured (an AUC on customers of one class) stays, with a null value.
    where metric != 'method'
),

fraud_evaluation as (
    select
        *,
        case
            when left(metric, 11) = 'population_'
                then 'whole population at the flag: labels read as a biased sample, 90% bootstrap interval'
            else 'held-out labelled transactions (the latest 25% by time)'
        end as note
    from ({{ latest_version_metric_rows('fraud_model_versions', '$.evaluation', 'DOUBLE') }})
),

recommendation_evaluation as (
    select
        recommendations_backtest.task,
        recommendations_backtest.model,
        recommendations_backtest.metric,
        recommendations_backtest.value,
        'recommendation_model_blend_weights' as model_version,
        as_of_dates.as_of_date,
        recommendations_backtest.note
    from recommendations_backtest
    cross join as_of_dates
    where as_of_dates.is_current
),

all_evaluations as (
    -- The same columns in the same order from each (Spark has no union by name).
    select
        task,
        model,
        metric,
        value,
        model_version,
        as_of_date,
        note
    from segmentation_model_evaluation
    union all
    select
        task,
        model,
        metric,
        value,
        model_version,
        as_of_date,
        note
    from churn_value_evaluation
    union all
    select
        task,
        model,
        metric,
        value,
        model_version,
        as_of_date,
        note
    from fraud_evaluation
    union all
    select
        task,
        model,
        metric,
        value,
        model_version,
        as_of_date,
        note
    from recommendation_evaluation
),

final as (
    select
        *,
        {{ build_started_at() }} as evaluated_at
    from all_evaluations
)

select * from final
