with

customers_item_history as (
    select * from {{ ref('int_customers_item_history') }}
),

customers_item_spend as (
    -- What each customer bought of each item before the current as-of date.
    select *
    from customers_item_history
    where snapshot_name = 'current'
),

segment_assignments as {{ not_materialized() }} (
    select * from {{ ref('segmentation_model_assignments') }}
),

segmentation_model_descriptions as (
    select * from {{ ref('segmentation_model_descriptions') }}
),

customer_keys as (
    select * from {{ ref('int_recommendation_customer_keys') }}
),

customer_segments as (
    {{ segments_by_customer_key() }}
),

segment_spend as (
    select
        customer_segments.segment_id,
        customers_item_spend.category,
        cast(sum({{ exact('customers_item_spend.spend') }}) as double) as spend,
        count(distinct customers_item_spend.customer_key) as buyers
    from customers_item_spend
    inner join customer_segments
        on customers_item_spend.customer_key = customer_segments.customer_key
    group by customer_segments.segment_id, customers_item_spend.category
),

segment_sizes as (
    select
        segment_id,
        count(*) as customers
    from segment_assignments
    group by segment_id
),

shares as (
    select
        segment_spend.*,
        segment_spend.spend
        / cast(sum({{ exact('segment_spend.spend') }}) over (partition by segment_spend.segment_id) as double)
            as share_of_segment_spend,
        cast(sum({{ exact('segment_spend.spend') }}) over (partition by segment_spend.category) as double)
        / cast(sum({{ exact('segment_spend.spend') }}) over () as double) as share_of_all_spend
    from segment_spend
),

final as (
    select
        shares.segment_id,
        segmentation_model_descriptions.segment_name,
        shares.category,
        cast(shares.spend as double) as spend,
        cast(shares.share_of_segment_spend as double) as share_of_segment_spend,
        cast(shares.share_of_all_spend as double) as share_of_all_spend,
        cast(shares.share_of_segment_spend / nullif(shares.share_of_all_spend, 0) as double) as lift,
        cast(shares.buyers as double) / segment_sizes.customers as share_of_segment_buying,
        -- bigint as the contract says (DuckDB's row_number is one; Spark's an int).
        cast(row_number() over (
            partition by shares.segment_id
            order by
                shares.share_of_segment_spend / nullif(shares.share_of_all_spend, 0) desc,
                shares.category asc
        ) as bigint) as lift_rank
    from shares
    inner join segment_sizes
        on shares.segment_id = segment_sizes.segment_id
    inner join segmentation_model_descriptions
        on shares.segment_id = segmentation_model_descriptions.segment_id
)

select * from final
