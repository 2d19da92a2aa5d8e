{#- Every model version of every kind, without the weights: what was trained when, on what, and why. -#}
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
        version_number,
        parent_version,
        trained_at,
        as_of_date,
        training_rows,
        retrain_reason,
        config,
        feature_names,
        metrics
    from all_versions
)

select * from final
