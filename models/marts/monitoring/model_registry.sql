{#-
    Every model version of every kind, without the weights: what was trained when, on what, and why. The
    types are cast as the contract states them, whichever engine and loader wrote the version tables.
-#}
with

segmentation_model_versions as (
    select * from {{ ref('segmentation_model_versions') }}
),

churn_value_model_versions as (
    select * from {{ ref('churn_value_model_versions') }}
),

fraud_model_versions as (
    select * from {{ ref('fraud_model_versions') }}
),

all_versions as (
    select {{ star_except('segmentation_model_versions', ['weights']) }} from segmentation_model_versions
    union all
    select {{ star_except('churn_value_model_versions', ['weights']) }} from churn_value_model_versions
    union all
    select {{ star_except('fraud_model_versions', ['weights']) }} from fraud_model_versions
),

final as (
    select
        model_version,
        model_kind,
        cast(version_number as bigint) as version_number,
        parent_version,
        cast(trained_at as timestamp) as trained_at,
        cast(as_of_date as date) as as_of_date,
        cast(training_rows as bigint) as training_rows,
        retrain_reason,
        config,
        feature_names,
        metrics
    from all_versions
)

select * from final
