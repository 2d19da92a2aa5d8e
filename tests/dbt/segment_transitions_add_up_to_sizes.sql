-- Segment sizes and transitions add up: for every pair of consecutive as-of dates, the customers (and
-- their predicted value) leaving each segment of the earlier date sum to its size there, those arriving
-- in each segment of the later date sum to its size there, and the sizes of a date sum to the history's
-- customers at that date. Returns one row per mismatch.
with

segment_history as (
    select * from {{ ref('segment_history') }}
),

segment_sizes as (
    select * from {{ ref('segment_sizes') }}
),

segment_transitions as (
    select * from {{ ref('segment_transitions') }}
),

date_pairs as (
    select distinct
        from_as_of_date,
        to_as_of_date
    from segment_transitions
),

sizes_before as (
    select
        date_pairs.from_as_of_date,
        segment_sizes.segment_id,
        segment_sizes.customers,
        segment_sizes.predicted_ltv
    from date_pairs
    inner join segment_sizes
        on date_pairs.from_as_of_date = segment_sizes.as_of_date
),

leaving as (
    select
        from_as_of_date,
        from_segment_id as segment_id,
        sum(customers) as customers,
        sum(revenue_at_stake) as predicted_ltv
    from segment_transitions
    where transition_kind != 'new'
    group by from_as_of_date, from_segment_id
),

sizes_after as (
    select
        date_pairs.from_as_of_date,
        segment_sizes.segment_id,
        segment_sizes.customers,
        segment_sizes.predicted_ltv
    from date_pairs
    inner join segment_sizes
        on date_pairs.to_as_of_date = segment_sizes.as_of_date
),

arriving as (
    select
        from_as_of_date,
        to_segment_id as segment_id,
        sum(customers) as customers,
        sum(predicted_ltv_after) as predicted_ltv
    from segment_transitions
    where transition_kind != 'left'
    group by from_as_of_date, to_segment_id
),

side_mismatches as (
    select
        coalesce(sizes_before.from_as_of_date, leaving.from_as_of_date) as from_as_of_date,
        coalesce(sizes_before.segment_id, leaving.segment_id) as segment_id,
        'leaving the earlier date' as side,
        sizes_before.customers as size_customers,
        leaving.customers as transition_customers
    from sizes_before
    full outer join leaving
        on
            sizes_before.from_as_of_date = leaving.from_as_of_date
            and sizes_before.segment_id = leaving.segment_id
    where
        sizes_before.customers is distinct from leaving.customers
        or abs(sizes_before.predicted_ltv - leaving.predicted_ltv)
        > 1e-6 * greatest(1, abs(sizes_before.predicted_ltv))
    union all
    select
        coalesce(sizes_after.from_as_of_date, arriving.from_as_of_date) as from_as_of_date,
        coalesce(sizes_after.segment_id, arriving.segment_id) as segment_id,
        'arriving at the later date' as side,
        sizes_after.customers as size_customers,
        arriving.customers as transition_customers
    from sizes_after
    full outer join arriving
        on
            sizes_after.from_as_of_date = arriving.from_as_of_date
            and sizes_after.segment_id = arriving.segment_id
    where
        sizes_after.customers is distinct from arriving.customers
        or abs(sizes_after.predicted_ltv - arriving.predicted_ltv)
        > 1e-6 * greatest(1, abs(sizes_after.predicted_ltv))
),

history_counts as (
    select
        as_of_date,
        count(*) as customers
    from segment_history
    group by as_of_date
),

size_totals as (
    select
        as_of_date,
        sum(customers) as customers
    from segment_sizes
    group by as_of_date
),

total_mismatches as (
    select
        coalesce(history_counts.as_of_date, size_totals.as_of_date) as from_as_of_date,
        null::bigint as segment_id,
        'sizes against the history' as side,
        size_totals.customers as size_customers,
        history_counts.customers as transition_customers
    from history_counts
    full outer join size_totals
        on history_counts.as_of_date = size_totals.as_of_date
    where history_counts.customers is distinct from size_totals.customers
),

final as (
    select * from side_mismatches
    union all
    select * from total_mismatches
)

select * from final
