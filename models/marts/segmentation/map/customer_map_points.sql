{#-
    The segment map for dashboards and the report: each segmented customer's 2-D position (PCA for
    everyone, t-SNE for a seeded sample, from ml.segmentation_model_map) with the segment's name and the
    figures a tooltip shows, so consumers read marts only.
-#}
with

segmentation_model_map as (
    select * from {{ ref('segmentation_model_map') }}
),

customers_scored as (
    select * from {{ ref('int_customers_scored') }}
),

final as (
    select
        customers_scored.customer_id,
        customers_scored.segment_id,
        customers_scored.segment_name,
        segmentation_model_map.pca_x,
        segmentation_model_map.pca_y,
        segmentation_model_map.tsne_x,
        segmentation_model_map.tsne_y,
        segmentation_model_map.is_in_tsne_sample,
        customers_scored.rfm_segment,
        customers_scored.churn_risk,
        customers_scored.predicted_ltv,
        customers_scored.as_of_date
    from customers_scored
    inner join segmentation_model_map
        on customers_scored.customer_id = segmentation_model_map.customer_id
)

select * from final
