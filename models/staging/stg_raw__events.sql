{#-
    A view, not a table: one model reads it (int_customers_behaviour), and its data tests read it too.
    At 1,000,000 customers writing its 22.5 M rows cost 22 node seconds; as a view the reader costs the
    same, and the md5 of event_id is computed only where event_id is read: its not_null test (3.6 s).
    Its grain is tested on the file and row event_id hashes (source_file, source_row_number), not on the
    md5, which a unique test on the view would compute again (13 s; docs/measurements.md, "eighth
    session").
-#}
{{ config(materialized='view') }}
with

base_events as (
    select * from {{ ref('base_raw__events') }}
),

final as (
    select
        -- Events have no id of their own: the file and row identify one.
        md5(concat_ws('|', source_file, source_row_number)) as event_id,
        parsed_customer_id as customer_id,
        parsed_occurred_at as occurred_at,
        parsed_event_type as event_type,
        parsed_session_id as session_id,
        parsed_item_id as item_id,
        source_file,
        source_row_number
    from base_events
    where rejection_reason is null
)

select * from final
