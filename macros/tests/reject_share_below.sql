{#-
    reject_share_below: fails when the share of a raw table's rows that were rejected passes
    max_share (default: the var max_reject_share). Applied to a <table>_rejected model, with
    read_from the base_raw__ model that holds every row read. Any reject at all is reported by
    the warning test has_no_rows.
-#}
{% test reject_share_below(model, read_from, max_share=none) %}
{%- set limit = max_share if max_share is not none else number_var('max_reject_share') -%}
with

counts as (
    select
        (select count(*) from {{ model }}) as rows_rejected,
        (select count(*) from {{ read_from }}) as rows_read
),

final as (
    select
        *,
        rows_rejected / rows_read as reject_share
    from counts
    where rows_read > 0 and rows_rejected / rows_read > {{ limit }}
)

select * from final
{% endtest %}
