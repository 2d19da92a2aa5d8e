{#-
    The segment map for dashboards and the report: each segmented customer's 2-D position (PCA for
    everyone, t-SNE for a seeded sample, from ml.segmentation_model_map) with the segment's name and the
    figures a tooltip shows, so consumers read marts only.
-#}
with

segmentation_model_map as (
    select * from {{ ref('segmentation_model_map') }}
),

customer_segments as (
    select * from {{ ref('customer_segments') }}
),

final as (
    select
        customer_segments.customer_id,
        customer_segments.segment_id,
        customer_segments.segment_name,
        segmentation_model_map.pca_x,
        segmentation_model_map.pca_y,
        segmentation_model_map.tsne_x,
        segmentation_model_map.tsne_y,
        segmentation_model_map.is_in_tsne_sample,
        customer_segments.rfm_segment,
        customer_segments.churn_risk,
        customer_segments.predicted_ltv,
        customer_segments.as_of_date
    from customer_segments
    inner join segmentation_model_map
        on customer_segments.customer_id = segmentation_model_map.customer_id
)

select * from final
