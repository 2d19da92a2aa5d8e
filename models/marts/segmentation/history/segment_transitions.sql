{#-
    How customers moved between segments from each as-of date of the history to the next one: one row
    per (pair of consecutive dates, segment before, segment after), staying put included. A customer
    first seen at the later date comes from 'New customer' (no segment before); one no longer scored at
    the later date goes to 'Left the data' (no segment after), so every customer of either date is
    counted once and the transitions add up to the segment sizes of both dates.
-#}
with

segment_history as (
    select * from {{ ref('segment_history') }}
),

history_dates as (
    select distinct as_of_date from segment_history
),

consecutive_dates as (
    select
        as_of_date as from_as_of_date,
        lead(as_of_date) over (order by as_of_date) as to_as_of_date
    from history_dates
),

date_pairs as (
    select * from consecutive_dates
    where to_as_of_date is not null
),

pair_dates as (
    -- Both dates of each pair, the earlier one first.
    select
        from_as_of_date,
        to_as_of_date,
        unnest([from_as_of_date, to_as_of_date]) as as_of_date,
        unnest([false, true]) as is_later_date
    from date_pairs
),

customer_segments as (
    -- Each customer of either date of a pair, with their segment at each date they were scored at.
    select
        pair_dates.from_as_of_date,
        pair_dates.to_as_of_date,
        segment_history.customer_id,
        bool_or(not pair_dates.is_later_date) as is_seen_before,
        bool_or(pair_dates.is_later_date) as is_seen_after,
        any_value(segment_history.segment_id) filter (where not pair_dates.is_later_date)
            as from_segment_id,
        any_value(segment_history.segment_name) filter (where not pair_dates.is_later_date)
            as from_segment_name,
        any_value(segment_history.predicted_ltv) filter (where not pair_dates.is_later_date)
            as predicted_ltv_before,
        any_value(segment_history.segment_id) filter (where pair_dates.is_later_date) as to_segment_id,
        any_value(segment_history.segment_name) filter (where pair_dates.is_later_date) as to_segment_name,
        any_value(segment_history.predicted_ltv) filter (where pair_dates.is_later_date)
            as predicted_ltv_after
    from pair_dates
    inner join segment_history
        on pair_dates.as_of_date = segment_history.as_of_date
    group by pair_dates.from_as_of_date, pair_dates.to_as_of_date, segment_history.customer_id
),

customer_moves as (
    select
        from_as_of_date,
        to_as_of_date,
        from_segment_id,
        coalesce(from_segment_name, 'New customer') as from_segment_name,
        to_segment_id,
        coalesce(to_segment_name, 'Left the data') as to_segment_name,
        case
            when not is_seen_before then 'new'
            when not is_seen_after then 'left'
            when from_segment_id = to_segment_id then 'stayed'
            else 'moved'
        end as transition_kind,
        predicted_ltv_before,
        predicted_ltv_after
    from customer_segments
),

transitions as (
    select
        from_as_of_date,
        to_as_of_date,
        from_segment_id,
        from_segment_name,
        to_segment_id,
        to_segment_name,
        transition_kind,
        count(*) as customers,
        coalesce(sum(predicted_ltv_before), 0) as revenue_at_stake,
        coalesce(sum(predicted_ltv_after), 0) as predicted_ltv_after
    from customer_moves
    group by all
),

final as (
    -- The columns stand in the order of the contract (dbt selects them by name).
    select
        *,
        case
            when transition_kind != 'new'
                then customers / sum(customers) over (partition by from_as_of_date, from_segment_id)
        end as share_of_from_segment
    from transitions
)

select * from final
