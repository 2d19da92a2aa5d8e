{#-
    The candidate items of each recommender customer (int_customers_recommendation_candidate_items) with
    the signals the recommender blends: one row per snapshot, customer and candidate item. is_bought_next
    says whether the customer bought the item in the horizon after the as-of date, is_category_bought_next
    whether they bought anything of its category (both null for 'current').

    Category adoption, for the discovery slots: in the horizon before each as-of date, the share of
    customers new to a category who started buying in it (category_adoption_rate), and the same among
    the customers of each category they did buy in (category transition, shrunk towards the adoption
    rate); a customer's category_transition is the mean over their categories weighted by their share
    in each. Counted on the seeded adoption sample of int_customers_recommendation_population.

    Only what the scoring, the reasons, the blend's fit and the backtest read is kept (at 1,000,000
    customers every column of its 38 M rows costs about 2.5 CPU s to write): the co-purchase sum and
    the item's repeat rate enter as the signals copurchase_score and repeat_propensity.

    The steps before this one are models of their own, so that DuckDB keeps none of them in memory while
    it joins the signals (at 1,000,000 customers a single query ran out of its memory limit).
-#}
{#- Prior strength (in customers) that shrinks a category transition towards the adoption rate. -#}
{%- set transition_prior = 20 -%}
{#- The join keys of a snapshot's customers, and of their items. -#}
{%- set customer_key = ['snapshot_name', 'customer_key'] -%}
{%- set item_key = customer_key + ['item_key'] -%}
with

candidates as {{ not_materialized() }} (
    select * from {{ ref('int_customers_recommendation_candidate_items') }}
),

population as {{ not_materialized() }} (
    select * from {{ ref('int_customers_recommendation_population') }}
),

history as {{ not_materialized() }} (
    select * from {{ ref('int_customers_recommendation_history') }}
),

category_shares as {{ not_materialized() }} (
    select * from {{ ref('int_customers_category_shares') }}
),

copurchase_signals as (
    select * from {{ ref('int_customers_copurchase_signals') }}
),

segments_item_shares as (
    select * from {{ ref('int_segments_item_shares') }}
),

customers_item_outcomes as {{ not_materialized() }} (
    select * from {{ ref('int_customers_item_outcomes') }}
),

items_statistics as {{ not_materialized() }} (
    select * from {{ ref('int_items_statistics') }}
),

as_of_dates as {{ not_materialized() }} (
    select * from {{ ref('int_as_of_dates') }}
),

sample_categories as (
    -- Each sampled customer's categories, and whether they bought in it before the horizon that ends at
    -- the as-of date (else they started buying in it within that horizon).
    select
        history.snapshot_name,
        history.customer_key,
        history.category,
        min(history.first_bought_at)
        < any_value(as_of_dates.as_of_date) - any_value(as_of_dates.horizon_days) as is_held_before
    from history
    inner join population
        on {{ same_keys('history', 'population', customer_key) }}
    inner join as_of_dates
        on history.snapshot_name = as_of_dates.snapshot_name
    where population.is_adoption_sample
    group by
        history.snapshot_name,
        history.customer_key,
        history.category
),

established_customers as (
    -- Sampled customers who had bought something before that horizon: the ones who could adopt.
    select
        snapshot_name,
        customer_key
    from sample_categories
    group by snapshot_name, customer_key
    having bool_or(is_held_before)
),

established_categories as (
    select sample_categories.*
    from sample_categories
    {{ semi_join() }} established_customers
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

new_category_pairs as (
    select distinct
        candidates.snapshot_name,
        candidates.customer_key,
        items_statistics.category
    from candidates
    inner join items_statistics
        on {{ same_keys('candidates', 'items_statistics', ['snapshot_name', 'item_key']) }}
    {{ anti_join() }} category_shares
        on {{ same_keys('candidates', 'category_shares', customer_key) }}
            and items_statistics.category = category_shares.category
),

customer_transitions as (
    -- For each category new to the customer: the transition rates from their categories, weighted by
    -- their share in each; the category that contributes most names the reason.
    select
        new_category_pairs.snapshot_name,
        new_category_pairs.customer_key,
        new_category_pairs.category,
        cast(
            sum({{ exact('category_shares.category_share * category_transitions.transition_rate') }})
            as double
        ) as category_transition,
        {{ first_in_order('category_shares.category', [
            ('category_shares.category_share * category_transitions.transition_rate', 'desc'),
            ('category_shares.category', 'asc'),
        ]) }} as transition_from_category
    from new_category_pairs
    inner join category_shares
        on {{ same_keys('new_category_pairs', 'category_shares', customer_key) }}
    inner join category_transitions
        on new_category_pairs.snapshot_name = category_transitions.snapshot_name
            and category_shares.category = category_transitions.from_category
            and new_category_pairs.category = category_transitions.to_category
    group by new_category_pairs.snapshot_name, new_category_pairs.customer_key, new_category_pairs.category
),

categories_bought_next as (
    select distinct
        snapshot_name,
        customer_key,
        category
    from customers_item_outcomes
),

final as (
    select
        candidates.snapshot_name,
        as_of_dates.as_of_date,
        candidates.customer_key,
        candidates.item_key,
        items_statistics.category,
        population.segment_id,
        coalesce(history.orders, 0) as own_orders,
        {{ days_between('as_of_dates.as_of_date', 'cast(history.last_bought_at as date)') }}
            as days_since_bought,
        coalesce(category_shares.category_share, 0) as category_share,
        copurchase_signals.anchor_item_key,
        coalesce(segments_item_shares.segment_share, 0) as segment_share,
        items_statistics.share_of_buyers as global_share,
        items_statistics.popularity_rank,
        category_shares.category_share is null as is_new_category,
        -- The signals the blend weighs, each 0 where its source says nothing about the item.
        cast(history.orders is not null as double) as bought_before,
        ln(1 + coalesce(history.orders, 0)) as log_own_orders,
        coalesce(
            exp(
                -({{ days_between('as_of_dates.as_of_date', 'cast(history.last_bought_at as date)') }})
                / as_of_dates.horizon_days
            ),
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
            else customers_item_outcomes.item_key is not null
        end as is_bought_next,
        case
            when as_of_dates.is_current then null
            else categories_bought_next.category is not null
        end as is_category_bought_next
    from candidates
    inner join as_of_dates
        on candidates.snapshot_name = as_of_dates.snapshot_name
    inner join population
        on {{ same_keys('candidates', 'population', customer_key) }}
    inner join items_statistics
        on {{ same_keys('candidates', 'items_statistics', ['snapshot_name', 'item_key']) }}
    left join history
        on {{ same_keys('candidates', 'history', item_key) }}
    left join category_shares
        on {{ same_keys('candidates', 'category_shares', customer_key) }}
            and items_statistics.category = category_shares.category
    left join copurchase_signals
        on {{ same_keys('candidates', 'copurchase_signals', item_key) }}
    left join segments_item_shares
        on candidates.snapshot_name = segments_item_shares.snapshot_name
            and population.segment_id = segments_item_shares.segment_id
            and candidates.item_key = segments_item_shares.item_key
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
