with

segmentation_evaluation as (
    select * from {{ ref('segmentation_evaluation') }}
),

churn_value_model_versions as (
    select * from {{ ref('churn_value_model_versions') }}
),

latest_churn_value_version as (
    select *
    from churn_value_model_versions
    qualify version_number = max(version_number) over ()
),

churn_value_backtest as (
    select
        model_version,
        as_of_date,
        unnest(
            from_json(
                json_extract(metrics, '$.backtest'),
                '[{"task": "VARCHAR", "model": "VARCHAR", "metric": "VARCHAR", "value": "JSON"}]'
            )
        ) as backtest_row
    from latest_churn_value_version
),

churn_value_evaluation as (
    select
        struct_extract(backtest_row, 'task') as task,
        struct_extract(backtest_row, 'model') as model,
        struct_extract(backtest_row, 'metric') as metric,
        try_cast(struct_extract(backtest_row, 'value') as double) as value,
        model_version,
        as_of_date,
        'backtest: fit as of T - 2h, evaluated on the outcomes of [T - h, T)' as note
    from churn_value_backtest
    where try_cast(struct_extract(backtest_row, 'value') as double) is not null
),

fraud_model_versions as (
    select * from {{ ref('fraud_model_versions') }}
),

latest_fraud_version as (
    select *
    from fraud_model_versions
    qualify version_number = max(version_number) over ()
),

fraud_evaluation_rows as (
    select
        model_version,
        as_of_date,
        unnest(
            from_json(
                json_extract(metrics, '$.evaluation'),
                '[{"task": "VARCHAR", "model": "VARCHAR", "metric": "VARCHAR", "value": "DOUBLE"}]'
            )
        ) as evaluation_row
    from latest_fraud_version
),

fraud_evaluation as (
    select
        struct_extract(evaluation_row, 'task') as task,
        struct_extract(evaluation_row, 'model') as model,
        struct_extract(evaluation_row, 'metric') as metric,
        struct_extract(evaluation_row, 'value') as value,
        model_version,
        as_of_date,
        'held-out labelled transactions (the latest 25% by time)' as note
    from fraud_evaluation_rows
),

all_evaluations as (
    select
        task,
        model,
        metric,
        value,
        model_version,
        as_of_date,
        note
    from segmentation_evaluation
    union all by name
    select * from churn_value_evaluation
    union all by name
    select * from fraud_evaluation
),

final as (
    select
        *,
        {{ build_started_at() }} as evaluated_at
    from all_evaluations
)

select * from final
