{#-
    The items worth ranking for each customer as of each date, with the signals the recommender blends:
    one row per snapshot, customer and candidate item. Candidates come from four sources: what the
    customer bought before (repeat purchases), what is often bought with their recent items
    (co-purchase), what their segment buys, and what everyone buys (the fallback). 'current' covers every
    segmented customer; the past snapshots, which only train and backtest the blend, a seeded sample of
    var recommendation_sample_customers customers. is_bought_next says whether the customer bought the
    item in the horizon after the as-of date (null for 'current').

    Customers are grouped by their current segment at every snapshot: the segment popularity of a past
    snapshot counts only purchases before that snapshot, but the grouping itself is today's.
-#}
{%- set per_source = var('recommendation_candidates_per_source') | int -%}
with

customers_item_history as (
    select * from {{ ref('int_customers_item_history') }}
),

customers_item_outcomes as (
    select * from {{ ref('int_customers_item_outcomes') }}
),

items_statistics as (
    select * from {{ ref('int_items_statistics') }}
),

items_copurchases as (
    select * from {{ ref('int_items_copurchases') }}
),

customers_features as (
    select * from {{ ref('int_customers_features') }}
),

as_of_dates as (
    select * from {{ ref('int_as_of_dates') }}
),

segment_assignments as (
    select * from {{ ref('segmentation_model_assignments') }}
),

snapshot_customers as (
    select
        customers_features.snapshot_name,
        customers_features.customer_id,
        segment_assignments.segment_id
    from customers_features
    inner join segment_assignments
        on customers_features.customer_id = segment_assignments.customer_id
    qualify
        customers_features.snapshot_name = 'current'
        or row_number() over (
            partition by customers_features.snapshot_name
            order by
                hash(customers_features.customer_id || '#recommendation-sample'),
                customers_features.customer_id
        ) <= {{ var('recommendation_sample_customers') | int }}
),

history as (
    select
        customers_item_history.*,
        snapshot_customers.segment_id
    from customers_item_history
    inner join snapshot_customers
        on customers_item_history.snapshot_name = snapshot_customers.snapshot_name
            and customers_item_history.customer_id = snapshot_customers.customer_id
),

category_shares as (
    select
        snapshot_name,
        customer_id,
        category,
        sum(orders) / sum(sum(orders)) over (partition by snapshot_name, customer_id) as category_share
    from history
    group by snapshot_name, customer_id, category
),

segment_history as (
    select
        customers_item_history.snapshot_name,
        segment_assignments.segment_id,
        customers_item_history.customer_id,
        customers_item_history.item_id
    from customers_item_history
    inner join segment_assignments
        on customers_item_history.customer_id = segment_assignments.customer_id
),

segment_sizes as (
    select
        snapshot_name,
        segment_id,
        count(distinct customer_id) as customers
    from segment_history
    group by snapshot_name, segment_id
),

segment_item_shares as (
    select
        segment_history.snapshot_name,
        segment_history.segment_id,
        segment_history.item_id,
        count(*) / any_value(segment_sizes.customers) as segment_share
    from segment_history
    inner join segment_sizes
        on segment_history.snapshot_name = segment_sizes.snapshot_name
            and segment_history.segment_id = segment_sizes.segment_id
    group by segment_history.snapshot_name, segment_history.segment_id, segment_history.item_id
),

own_candidates as (
    select
        snapshot_name,
        customer_id,
        item_id
    from history
    qualify row_number() over (
            partition by snapshot_name, customer_id
            order by orders desc, last_bought_at desc, item_id asc
        ) <= {{ per_source }}
),

anchors as (
    select
        snapshot_name,
        customer_id,
        item_id
    from history
    qualify row_number() over (
            partition by snapshot_name, customer_id
            order by last_bought_at desc, orders desc, item_id asc
        ) <= {{ var('recommendation_anchor_items') | int }}
),

copurchase_signals as (
    select
        anchors.snapshot_name,
        anchors.customer_id,
        items_copurchases.related_item_id as item_id,
        sum(items_copurchases.cosine) as copurchase_sum,
        arg_max(anchors.item_id, items_copurchases.cosine) as anchor_item_id
    from anchors
    inner join items_copurchases
        on anchors.snapshot_name = items_copurchases.snapshot_name
            and anchors.item_id = items_copurchases.item_id
    group by anchors.snapshot_name, anchors.customer_id, items_copurchases.related_item_id
),

copurchase_candidates as (
    select
        snapshot_name,
        customer_id,
        item_id
    from copurchase_signals
    qualify row_number() over (
            partition by snapshot_name, customer_id
            order by copurchase_sum desc, item_id asc
        ) <= {{ per_source }}
),

segment_top_items as (
    select
        snapshot_name,
        segment_id,
        item_id
    from segment_item_shares
    qualify row_number() over (
            partition by snapshot_name, segment_id
            order by segment_share desc, item_id asc
        ) <= {{ per_source }}
),

segment_candidates as (
    select
        snapshot_customers.snapshot_name,
        snapshot_customers.customer_id,
        segment_top_items.item_id
    from snapshot_customers
    inner join segment_top_items
        on snapshot_customers.snapshot_name = segment_top_items.snapshot_name
            and snapshot_customers.segment_id = segment_top_items.segment_id
),

popular_candidates as (
    select
        snapshot_customers.snapshot_name,
        snapshot_customers.customer_id,
        items_statistics.item_id
    from snapshot_customers
    inner join items_statistics
        on snapshot_customers.snapshot_name = items_statistics.snapshot_name
    where items_statistics.popularity_rank <= {{ per_source }}
),

candidates as (
    select * from own_candidates
    union
    select * from copurchase_candidates
    union
    select * from segment_candidates
    union
    select * from popular_candidates
),

final as (
    select
        candidates.snapshot_name,
        as_of_dates.as_of_date,
        candidates.customer_id,
        candidates.item_id,
        items_statistics.category,
        snapshot_customers.segment_id,
        coalesce(history.orders, 0) as own_orders,
        as_of_dates.as_of_date - cast(history.last_bought_at as date) as days_since_bought,
        coalesce(category_shares.category_share, 0) as category_share,
        coalesce(copurchase_signals.copurchase_sum, 0) as copurchase_sum,
        copurchase_signals.anchor_item_id,
        coalesce(segment_item_shares.segment_share, 0) as segment_share,
        items_statistics.share_of_buyers as global_share,
        items_statistics.repeat_rate as item_repeat_rate,
        items_statistics.popularity_rank,
        category_shares.category_share is null as is_new_category,
        -- The signals the blend weighs, each 0 where its source says nothing about the item.
        cast(history.orders is not null as double) as bought_before,
        ln(1 + coalesce(history.orders, 0)) as log_own_orders,
        coalesce(
            exp(-(as_of_dates.as_of_date - cast(history.last_bought_at as date)) / as_of_dates.horizon_days),
            0
        ) as own_recency,
        coalesce(items_statistics.repeat_rate * cast((history.orders is not null) as integer), 0)
            as repeat_propensity,
        ln(1 + coalesce(copurchase_signals.copurchase_sum, 0)) as copurchase_score,
        case
            when as_of_dates.is_current then null
            else customers_item_outcomes.item_id is not null
        end as is_bought_next
    from candidates
    inner join as_of_dates
        on candidates.snapshot_name = as_of_dates.snapshot_name
    inner join snapshot_customers
        on candidates.snapshot_name = snapshot_customers.snapshot_name
            and candidates.customer_id = snapshot_customers.customer_id
    inner join items_statistics
        on candidates.snapshot_name = items_statistics.snapshot_name
            and candidates.item_id = items_statistics.item_id
    left join history
        on candidates.snapshot_name = history.snapshot_name
            and candidates.customer_id = history.customer_id
            and candidates.item_id = history.item_id
    left join category_shares
        on candidates.snapshot_name = category_shares.snapshot_name
            and candidates.customer_id = category_shares.customer_id
            and items_statistics.category = category_shares.category
    left join copurchase_signals
        on candidates.snapshot_name = copurchase_signals.snapshot_name
            and candidates.customer_id = copurchase_signals.customer_id
            and candidates.item_id = copurchase_signals.item_id
    left join segment_item_shares
        on candidates.snapshot_name = segment_item_shares.snapshot_name
            and snapshot_customers.segment_id = segment_item_shares.segment_id
            and candidates.item_id = segment_item_shares.item_id
    left join customers_item_outcomes
        on candidates.snapshot_name = customers_item_outcomes.snapshot_name
            and candidates.customer_id = customers_item_outcomes.customer_id
            and candidates.item_id = customers_item_outcomes.item_id
)

select * from final
