-- One profile per segment in use, each with a description of its own (docs/data-contract.md).
with

customer_segments as (
    select * from {{ ref('customer_segments') }}
),

segment_profiles as (
    select * from {{ ref('segment_profiles') }}
),

segments_in_use as (
    select distinct segment_id from customer_segments
),

unmatched as (
    select
        coalesce(segments_in_use.segment_id, segment_profiles.segment_id) as segment_id,
        'segment without a profile, or a profile without customers' as problem
    from segments_in_use
    full outer join segment_profiles
        on segments_in_use.segment_id = segment_profiles.segment_id
    where segments_in_use.segment_id is null or segment_profiles.segment_id is null
),

repeated_descriptions as (
    select
        min(segment_id) as segment_id,
        'description shared by ' || count(*) || ' segments' as problem
    from segment_profiles
    group by description
    having count(*) > 1
),

final as (
    select * from unmatched
    union all
    select * from repeated_descriptions
)

select * from final
