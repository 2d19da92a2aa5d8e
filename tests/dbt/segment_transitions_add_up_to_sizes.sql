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

sides as (
    -- The two sides of a pair: the customers leaving each segment of the earlier date (all but the new
    -- ones), and those arriving in each segment of the later date (all but the departed ones).
    select * from (
        values
        ('leaving the earlier date', false, 'new'),
        ('arriving at the later date', true, 'left')
    ) as sides (side, is_later_date, other_kind)
),

side_dates as (
    select
        date_pairs.from_as_of_date,
        sides.side,
        case when sides.is_later_date then date_pairs.to_as_of_date else date_pairs.from_as_of_date end
            as as_of_date
    from date_pairs
    cross join sides
),

side_sizes as (
    select
        side_dates.from_as_of_date,
        side_dates.side,
        segment_sizes.segment_id,
        segment_sizes.customers,
        segment_sizes.predicted_ltv
    from side_dates
    inner join segment_sizes
        on side_dates.as_of_date = segment_sizes.as_of_date
),

side_transitions as (
    select
        segment_transitions.from_as_of_date,
        sides.side,
        case
            when sides.is_later_date then segment_transitions.to_segment_id
            else segment_transitions.from_segment_id
        end as segment_id,
        sum(segment_transitions.customers) as customers,
        sum(
            case
                when sides.is_later_date then segment_transitions.predicted_ltv_after
                else segment_transitions.revenue_at_stake
            end
        ) as predicted_ltv
    from segment_transitions
    inner join sides
        on segment_transitions.transition_kind != sides.other_kind
    group by all
),

side_mismatches as (
    select
        coalesce(side_sizes.from_as_of_date, side_transitions.from_as_of_date) as from_as_of_date,
        coalesce(side_sizes.segment_id, side_transitions.segment_id) as segment_id,
        coalesce(side_sizes.side, side_transitions.side) as side,
        side_sizes.customers as size_customers,
        side_transitions.customers as transition_customers
    from side_sizes
    full outer join side_transitions
        on
            side_sizes.from_as_of_date = side_transitions.from_as_of_date
            and side_sizes.side = side_transitions.side
            and side_sizes.segment_id = side_transitions.segment_id
    where
        side_sizes.customers is distinct from side_transitions.customers
        or abs(side_sizes.predicted_ltv - side_transitions.predicted_ltv)
        > 1e-6 * greatest(1, abs(side_sizes.predicted_ltv))
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
