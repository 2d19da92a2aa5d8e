{#-
    For each customer, var recommendations_per_customer items they have not bought yet, from the
    categories their segment over-buys (lift above 1 first), most popular first within a category.
    score = the category's lift for the segment x the item's share of the category's buyers, scaled so
    the customer's best candidate scores 1.
-#}
with

segment_item_affinity as (
    select * from {{ ref('segment_item_affinity') }}
),

items_popularity as (
    select * from {{ ref('int_items_popularity') }}
),

customers_item_spend as (
    select * from {{ ref('int_customers_item_spend') }}
),

segment_assignments as (
    select * from {{ ref('customer_segment_assignments') }}
),

candidate_items as (
    -- Per segment: the most popular items of its best categories (enough to fill every customer's list
    -- after removing what they already bought).
    select
        segment_item_affinity.segment_id,
        segment_item_affinity.segment_name,
        segment_item_affinity.category,
        segment_item_affinity.lift,
        items_popularity.item_id,
        items_popularity.share_of_category_buyers,
        items_popularity.rank_in_category,
        segment_item_affinity.lift * items_popularity.share_of_category_buyers as raw_score
    from segment_item_affinity
    inner join items_popularity
        on segment_item_affinity.category = items_popularity.category
    where
        segment_item_affinity.lift_rank <= 3
        and items_popularity.rank_in_category <= {{ var('recommendations_per_customer') | int * 4 }}
),

scored as (
    select
        segment_assignments.customer_id,
        candidate_items.*
    from segment_assignments
    inner join candidate_items
        on segment_assignments.segment_id = candidate_items.segment_id
    anti join customers_item_spend
        on segment_assignments.customer_id = customers_item_spend.customer_id
            and candidate_items.item_id = customers_item_spend.item_id
),

ranked as (
    select
        *,
        row_number() over (
            partition by customer_id
            order by raw_score desc, rank_in_category asc, item_id asc
        ) as recommendation_rank,
        raw_score / max(raw_score) over (partition by customer_id) as relative_score
    from scored
),

final as (
    select
        customer_id,
        recommendation_rank as rank,
        item_id,
        category,
        relative_score as score,
        'customers like this ("' || segment_name || '") spend '
        || printf('%.1f', lift) || ' times the average share on ' || category
        || '; no. ' || rank_in_category || ' in ' || category || ' by buyers' as reason,
        segment_id
    from ranked
    where recommendation_rank <= {{ var('recommendations_per_customer') | int }}
)

select * from final
