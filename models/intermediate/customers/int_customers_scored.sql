with

segment_assignments as (
    select * from {{ ref('segmentation_model_assignments') }}
),

value_predictions as (
    select * from {{ ref('churn_value_model_predictions') }}
),

segmentation_model_descriptions as (
    select * from {{ ref('segmentation_model_descriptions') }}
),

current_rfm as (
    select * from {{ ref('int_customers_current_rfm') }}
),

final as (
    select
        current_rfm.customer_id,
        segment_assignments.segment_id,
        segmentation_model_descriptions.segment_name,
        segment_assignments.segment_probability,
        segment_assignments.distance_to_centroid,
        segment_assignments.top_features as segment_reasons,
        current_rfm.rfm_segment,
        current_rfm.rfm_code,
        current_rfm.recency_days,
        current_rfm.frequency,
        current_rfm.monetary,
        current_rfm.tenure_days,
        value_predictions.churn_risk,
        value_predictions.predicted_ltv,
        value_predictions.p_alive,
        value_predictions.expected_purchases,
        segment_assignments.anomaly_score,
        segment_assignments.model_version,
        value_predictions.model_version as value_model_version,
        current_rfm.as_of_date,
        {{ build_started_at() }} as scored_at
    from current_rfm
    inner join segment_assignments
        on current_rfm.customer_id = segment_assignments.customer_id
    inner join segmentation_model_descriptions
        on segment_assignments.segment_id = segmentation_model_descriptions.segment_id
    inner join value_predictions
        on current_rfm.customer_id = value_predictions.customer_id
)

select * from final
