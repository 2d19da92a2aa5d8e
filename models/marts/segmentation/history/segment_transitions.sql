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

{#- The customers of each pair's earlier date (before_move) and of its later one (after_move). -#}
{%- for move, pair_date in [('before_move', 'from_as_of_date'), ('after_move', 'to_as_of_date')] %}
{{ move }} as (
    select
        date_pairs.from_as_of_date,
        date_pairs.to_as_of_date,
        segment_history.customer_id,
        segment_history.segment_id,
        segment_history.segment_name,
        segment_history.predicted_ltv
    from date_pairs
    inner join segment_history
        on date_pairs.{{ pair_date }} = segment_history.as_of_date
),
{% endfor %}
customer_moves as (
    select
        coalesce(before_move.from_as_of_date, after_move.from_as_of_date) as from_as_of_date,
        coalesce(before_move.to_as_of_date, after_move.to_as_of_date) as to_as_of_date,
        before_move.segment_id as from_segment_id,
        coalesce(before_move.segment_name, 'New customer') as from_segment_name,
        after_move.segment_id as to_segment_id,
        coalesce(after_move.segment_name, 'Left the data') as to_segment_name,
        case
            when before_move.customer_id is null then 'new'
            when after_move.customer_id is null then 'left'
            when before_move.segment_id = after_move.segment_id then 'stayed'
            else 'moved'
        end as transition_kind,
        before_move.predicted_ltv as predicted_ltv_before,
        after_move.predicted_ltv as predicted_ltv_after
    from before_move
    full outer join after_move
        on {{ same_keys('before_move', 'after_move', ['from_as_of_date', 'customer_id']) }}
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
        coalesce(cast(sum({{ exact('predicted_ltv_before') }}) as double), 0) as revenue_at_stake,
        coalesce(cast(sum({{ exact('predicted_ltv_after') }}) as double), 0) as predicted_ltv_after
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
