with

segmentation_model_descriptions as (
    select * from {{ ref('segmentation_model_descriptions') }}
),

segment_assignments as (
    select * from {{ ref('segmentation_model_assignments') }}
),

current_rfm as (
    select * from {{ ref('int_customers_current_rfm') }}
),

per_segment as (
    select
        segment_assignments.segment_id,
        any_value(segment_assignments.model_version) as model_version,
        count(*) as customers,
        sum(current_rfm.monetary) as revenue,
        avg(current_rfm.recency_days) as average_recency_days,
        avg(current_rfm.frequency) as average_frequency,
        {{ decimal_mean('current_rfm.monetary') }} as average_monetary,
        {{ exact_mean('segment_assignments.segment_probability') }} as average_segment_probability
    from segment_assignments
    inner join current_rfm
        on segment_assignments.customer_id = current_rfm.customer_id
    group by segment_assignments.segment_id
),

final as (
    select
        per_segment.segment_id,
        segmentation_model_descriptions.segment_name,
        per_segment.customers,
        cast(per_segment.customers as double) / sum(per_segment.customers) over () as share_of_customers,
        cast(per_segment.revenue as double) / nullif(sum(per_segment.revenue) over (), 0) as share_of_revenue,
        segmentation_model_descriptions.description,
        segmentation_model_descriptions.distinguishing_features,
        per_segment.average_recency_days,
        per_segment.average_frequency,
        per_segment.average_monetary,
        per_segment.average_segment_probability,
        per_segment.model_version
    from per_segment
    inner join segmentation_model_descriptions
        on per_segment.segment_id = segmentation_model_descriptions.segment_id
)

select * from final
