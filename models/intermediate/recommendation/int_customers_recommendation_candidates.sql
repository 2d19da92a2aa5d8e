{#-
    The items worth ranking for each customer as of each date, with the signals the recommender blends:
    one row per snapshot, customer and candidate item. Candidates come from five sources: what the
    customer bought before (repeat purchases), what is often bought with their recent items
    (co-purchase), what their segment buys, what everyone buys (the fallback), and the best seller of
    each category the customer never bought in (so every new category has a candidate for the discovery
    slots). 'current' covers every segmented customer; the past snapshots, which only train and backtest
    the blends, a seeded sample of var recommendation_sample_customers customers. is_bought_next says
    whether the customer bought the item in the horizon after the as-of date, is_category_bought_next
    whether they bought anything of its category (both null for 'current').

    Category adoption, for the discovery slots: in the horizon before each as-of date, the share of
    customers new to a category who started buying in it (category_adoption_rate), and the same among
    the customers of each category they did buy in (category transition, shrunk towards the adoption
    rate); a customer's category_transition is the mean over their categories weighted by their share
    in each. Counted on the seeded sample of customers (the rates are per category, so a sample is
    plenty and the cost stays flat as customers grow).

    Customers are grouped by their current segment at every snapshot: the segment popularity of a past
    snapshot counts only purchases before that snapshot, but the grouping itself is today's.
-#}
{%- set per_source = var('recommendation_candidates_per_source') | int -%}
{%- set sample_customers = var('recommendation_sample_customers') | int -%}
{#- Prior strength (in customers) that shrinks a category transition towards the adoption rate. -#}
{%- set transition_prior = 20 -%}
{#- The join keys of a snapshot's customers, and of their items. -#}
{%- set customer_key = ['snapshot_name', 'customer_id'] -%}
{%- set item_key = customer_key + ['item_id'] -%}
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
        ) <= {{ sample_customers }}
),

sample_customers as (
    -- The customers category adoption is counted on: the past snapshots' sample, and the same seeded
    -- sample of 'current'.
    select
        snapshot_name,
        customer_id
    from snapshot_customers
    qualify row_number() over (
            partition by snapshot_name
            order by hash(customer_id || '#recommendation-sample'), customer_id
        ) <= {{ sample_customers }}
),

history as (
    select
        customers_item_history.*,
        snapshot_customers.segment_id
    from customers_item_history
    inner join snapshot_customers
        on {{ same_keys('customers_item_history', 'snapshot_customers', customer_key) }}
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

sample_categories as (
    -- Each sampled customer's categories, and whether they bought in it before the horizon that ends at
    -- the as-of date (else they started buying in it within that horizon).
    select
        customers_item_history.snapshot_name,
        customers_item_history.customer_id,
        customers_item_history.category,
        min(customers_item_history.first_bought_at)
        < any_value(as_of_dates.as_of_date) - any_value(as_of_dates.horizon_days) as is_held_before
    from customers_item_history
    inner join sample_customers
        on {{ same_keys('customers_item_history', 'sample_customers', customer_key) }}
    inner join as_of_dates
        on customers_item_history.snapshot_name = as_of_dates.snapshot_name
    group by
        customers_item_history.snapshot_name,
        customers_item_history.customer_id,
        customers_item_history.category
),

established_customers as (
    -- Sampled customers who had bought something before that horizon: the ones who could adopt.
    select
        snapshot_name,
        customer_id
    from sample_categories
    group by snapshot_name, customer_id
    having bool_or(is_held_before)
),

established_categories as (
    select sample_categories.*
    from sample_categories
    semi join established_customers
        on {{ same_keys('sample_categories', 'established_customers', customer_key) }}
),

established_counts as (
    select
        snapshot_name,
        count(*) as customers
    from established_customers
    group by snapshot_name
),

category_counts as (
    select
        snapshot_name,
        category,
        count(*) filter (where is_held_before) as holders,
        count(*) filter (where not is_held_before) as adopters
    from established_categories
    group by snapshot_name, category
),

category_adoption as (
    select
        category_counts.snapshot_name,
        category_counts.category,
        category_counts.holders,
        coalesce(
            category_counts.adopters / nullif(established_counts.customers - category_counts.holders, 0), 0
        ) as adoption_rate
    from category_counts
    inner join established_counts
        on category_counts.snapshot_name = established_counts.snapshot_name
),

category_pairs as (
    -- Of the customers who held category a before the horizon: how many also held b, how many started b.
    select
        held.snapshot_name,
        held.category as from_category,
        other.category as to_category,
        count(*) filter (where other.is_held_before) as both_held,
        count(*) filter (where not other.is_held_before) as adopters
    from established_categories as held
    inner join established_categories as other
        on {{ same_keys('held', 'other', customer_key) }}
            and held.category != other.category
    where held.is_held_before
    group by held.snapshot_name, held.category, other.category
),

category_transitions as (
    -- P(start buying to_category | held from_category), shrunk towards to_category's adoption rate.
    select
        from_counts.snapshot_name,
        from_counts.category as from_category,
        to_adoption.category as to_category,
        (coalesce(category_pairs.adopters, 0) + {{ transition_prior }} * to_adoption.adoption_rate)
        / (
            from_counts.holders - coalesce(category_pairs.both_held, 0) + {{ transition_prior }}
        ) as transition_rate
    from category_counts as from_counts
    inner join category_adoption as to_adoption
        on from_counts.snapshot_name = to_adoption.snapshot_name
            and from_counts.category != to_adoption.category
    left join category_pairs
        on from_counts.snapshot_name = category_pairs.snapshot_name
            and from_counts.category = category_pairs.from_category
            and to_adoption.category = category_pairs.to_category
    where from_counts.holders > 0
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
        on {{ same_keys('segment_history', 'segment_sizes', ['snapshot_name', 'segment_id']) }}
    group by segment_history.snapshot_name, segment_history.segment_id, segment_history.item_id
),

-- The customer's most ordered items, the latest first among equals.
own_candidates as (
    {{ first_per_group(
        'history', customer_key, 'orders desc, last_bought_at desc, item_id asc', per_source
    ) }}
),

anchors as (
    {{ recent_items('history') }}
),

copurchase_signals as (
    select
        anchors.snapshot_name,
        anchors.customer_id,
        items_copurchases.related_item_id as item_id,
        cast(sum({{ exact('items_copurchases.cosine') }}) as double) as copurchase_sum,
        -- Ties go to the smaller item id, so the reason names the same anchor on every build.
        first(anchors.item_id order by items_copurchases.cosine desc, anchors.item_id asc) as anchor_item_id
    from anchors
    inner join items_copurchases
        on {{ same_keys('anchors', 'items_copurchases', ['snapshot_name', 'item_id']) }}
    group by anchors.snapshot_name, anchors.customer_id, items_copurchases.related_item_id
),

copurchase_candidates as (
    {{ first_per_group('copurchase_signals', customer_key, 'copurchase_sum desc, item_id asc', per_source) }}
),

segment_top_items as (
    {{ first_per_group(
        'segment_item_shares', ['snapshot_name', 'segment_id'], 'segment_share desc, item_id asc', per_source
    ) }}
),

segment_candidates as (
    select
        snapshot_customers.snapshot_name,
        snapshot_customers.customer_id,
        segment_top_items.item_id
    from snapshot_customers
    inner join segment_top_items
        on {{ same_keys('snapshot_customers', 'segment_top_items', ['snapshot_name', 'segment_id']) }}
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

category_best_sellers as (
    select
        snapshot_name,
        category,
        item_id
    from items_statistics
    where rank_in_category = 1
),

new_category_candidates as (
    -- The best seller of every category the customer never bought in.
    select
        snapshot_customers.snapshot_name,
        snapshot_customers.customer_id,
        category_best_sellers.item_id
    from snapshot_customers
    inner join category_best_sellers
        on snapshot_customers.snapshot_name = category_best_sellers.snapshot_name
    anti join category_shares
        on {{ same_keys('snapshot_customers', 'category_shares', customer_key) }}
            and category_best_sellers.category = category_shares.category
),

candidates as (
    select * from own_candidates
    union
    select * from copurchase_candidates
    union
    select * from segment_candidates
    union
    select * from popular_candidates
    union
    select * from new_category_candidates
),

new_category_pairs as (
    select distinct
        candidates.snapshot_name,
        candidates.customer_id,
        items_statistics.category
    from candidates
    inner join items_statistics
        on {{ same_keys('candidates', 'items_statistics', ['snapshot_name', 'item_id']) }}
    anti join category_shares
        on {{ same_keys('candidates', 'category_shares', customer_key) }}
            and items_statistics.category = category_shares.category
),

customer_transitions as (
    -- For each category new to the customer: the transition rates from their categories, weighted by
    -- their share in each; the category that contributes most names the reason.
    select
        new_category_pairs.snapshot_name,
        new_category_pairs.customer_id,
        new_category_pairs.category,
        cast(
            sum({{ exact('category_shares.category_share * category_transitions.transition_rate') }})
            as double
        ) as category_transition,
        first(
            category_shares.category order by
                category_shares.category_share * category_transitions.transition_rate desc,
                category_shares.category asc
        ) as transition_from_category
    from new_category_pairs
    inner join category_shares
        on {{ same_keys('new_category_pairs', 'category_shares', customer_key) }}
    inner join category_transitions
        on new_category_pairs.snapshot_name = category_transitions.snapshot_name
            and category_shares.category = category_transitions.from_category
            and new_category_pairs.category = category_transitions.to_category
    group by new_category_pairs.snapshot_name, new_category_pairs.customer_id, new_category_pairs.category
),

categories_bought_next as (
    select distinct
        snapshot_name,
        customer_id,
        category
    from customers_item_outcomes
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
        coalesce(category_adoption.adoption_rate, 0) as category_adoption_rate,
        coalesce(customer_transitions.category_transition, 0) as category_transition,
        customer_transitions.transition_from_category,
        case
            when as_of_dates.is_current then null
            else customers_item_outcomes.item_id is not null
        end as is_bought_next,
        case
            when as_of_dates.is_current then null
            else categories_bought_next.category is not null
        end as is_category_bought_next
    from candidates
    inner join as_of_dates
        on candidates.snapshot_name = as_of_dates.snapshot_name
    inner join snapshot_customers
        on {{ same_keys('candidates', 'snapshot_customers', customer_key) }}
    inner join items_statistics
        on {{ same_keys('candidates', 'items_statistics', ['snapshot_name', 'item_id']) }}
    left join history
        on {{ same_keys('candidates', 'history', item_key) }}
    left join category_shares
        on {{ same_keys('candidates', 'category_shares', customer_key) }}
            and items_statistics.category = category_shares.category
    left join copurchase_signals
        on {{ same_keys('candidates', 'copurchase_signals', item_key) }}
    left join segment_item_shares
        on candidates.snapshot_name = segment_item_shares.snapshot_name
            and snapshot_customers.segment_id = segment_item_shares.segment_id
            and candidates.item_id = segment_item_shares.item_id
    left join customers_item_outcomes
        on {{ same_keys('candidates', 'customers_item_outcomes', item_key) }}
    left join category_adoption
        on candidates.snapshot_name = category_adoption.snapshot_name
            and items_statistics.category = category_adoption.category
    left join customer_transitions
        on {{ same_keys('candidates', 'customer_transitions', customer_key) }}
            and items_statistics.category = customer_transitions.category
    left join categories_bought_next
        on {{ same_keys('candidates', 'categories_bought_next', customer_key) }}
            and items_statistics.category = categories_bought_next.category
)

select * from final
