with

raw_tables_counted as (
    select * from {{ ref('int_raw_tables_counted') }}
),

final as (
    select
        table_name,
        is_present,
        source_file,
        rows_read,
        rows_accepted,
        rows_rejected,
        coalesce(reject_share, 0) as reject_share,
        reject_share > {{ number_var('max_reject_share') }} as is_over_reject_limit,
        rejection_summary,
        {{ build_started_at() }} as checked_at
    from raw_tables_counted
)

select * from final
