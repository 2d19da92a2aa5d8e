{#-
    For each segmented customer, their var recommendations_per_customer best items as of the as-of date:
    the recommender's blend of their own purchase history, what is often bought with their recent items,
    what their segment buys and what everyone buys (int_customers_recommendation_scores), with the
    reason in words taken from the signal that counts most for the item. Discovery slots before var
    recommendation_discovery_rank hold the items from categories new to the customer that they are
    likeliest to start buying (int_customers_recommendation_scores says how many).
-#}
with

recommendation_scores as (
    select * from {{ ref('int_customers_recommendation_scores') }}
),

segmentation_model_descriptions as (
    select * from {{ ref('segmentation_model_descriptions') }}
),

customer_keys as (
    select * from {{ ref('int_recommendation_customer_keys') }}
),

item_keys as (
    select * from {{ ref('int_recommendation_item_keys') }}
),

final as (
    select
        customer_keys.customer_id,
        recommendation_scores.recommendation_rank as rank,
        item_keys.item_id,
        recommendation_scores.category,
        recommendation_scores.score,
        case when recommendation_scores.is_discovery then 'new for you: ' else '' end
        || case recommendation_scores.reason_kind
            when 'own_history'
                then
                    'you bought it '
                    || case
                        when recommendation_scores.own_orders = 1 then 'once'
                        else recommendation_scores.own_orders || ' times'
                    end
                    || ', last ' || recommendation_scores.days_since_bought || ' days ago'
            when 'category_habit'
                then
                    'you often buy ' || recommendation_scores.category || ' ('
                    || round(100 * recommendation_scores.category_share) || '% of your items)'
            when 'copurchase'
                then
                    'often bought with ' || anchor_keys.item_id || ', which you bought'
            when 'category_adoption'
                then
                    'customers who buy ' || recommendation_scores.transition_from_category
                    || ' often start buying ' || recommendation_scores.category
            when 'segment'
                then
                    'popular with "'
                    || coalesce(segmentation_model_descriptions.segment_name, 'your segment') || '" ('
                    || round(100 * recommendation_scores.segment_share, 1) || '% of them bought it)'
            else 'popular with all customers (no. ' || recommendation_scores.popularity_rank || ')'
        end as reason,
        recommendation_scores.reason_kind,
        recommendation_scores.own_orders > 0 as is_repeat_purchase,
        recommendation_scores.is_new_category,
        recommendation_scores.is_discovery,
        recommendation_scores.segment_id
    from recommendation_scores
    inner join customer_keys
        on recommendation_scores.customer_key = customer_keys.customer_key
    inner join item_keys
        on recommendation_scores.item_key = item_keys.item_key
    left join item_keys as anchor_keys
        on recommendation_scores.anchor_item_key = anchor_keys.item_key
    left join segmentation_model_descriptions
        on recommendation_scores.segment_id = segmentation_model_descriptions.segment_id
    where
        recommendation_scores.snapshot_name = 'current'
        and recommendation_scores.recommendation_rank <= {{ var('recommendations_per_customer') | int }}
)

select * from final
