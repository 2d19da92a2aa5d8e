{#-
    rows_reconcile: every row read is either accepted or rejected, never lost or duplicated.
    Applied to a base_raw__ model (all rows read); fails with the three counts when
    rows read != rows accepted + rows rejected.
-#}
{% test rows_reconcile(model, accepted, rejected) %}
with

counts as (
    select
        (select count(*) from {{ model }}) as rows_read,
        (select count(*) from {{ accepted }}) as rows_accepted,
        (select count(*) from {{ rejected }}) as rows_rejected
),

final as (
    select * from counts
    where rows_read != rows_accepted + rows_rejected
)

select * from final
{% endtest %}
