{#-
    The segment map for dashboards and the report: each segmented customer's 2-D position (PCA for
    everyone, t-SNE for a seeded sample, from ml.customer_segment_map) with the segment's name and the
    figures a tooltip shows, so consumers read marts only.
-#}
with

customer_segment_map as (
    select * from {{ ref('customer_segment_map') }}
),

customer_segments as (
    select * from {{ ref('customer_segments') }}
),

final as (
    select
        customer_segments.customer_id,
        customer_segments.segment_id,
        customer_segments.segment_name,
        customer_segment_map.pca_x,
        customer_segment_map.pca_y,
        customer_segment_map.tsne_x,
        customer_segment_map.tsne_y,
        customer_segment_map.is_in_tsne_sample,
        customer_segments.rfm_segment,
        customer_segments.churn_risk,
        customer_segments.predicted_ltv,
        customer_segments.as_of_date
    from customer_segments
    inner join customer_segment_map
        on customer_segments.customer_id = customer_segment_map.customer_id
)

select * from final
