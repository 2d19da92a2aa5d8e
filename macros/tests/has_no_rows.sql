{#-
    has_no_rows: one failing row per distinct value of group_by (with its count) when the model has
    any rows. Used with severity warn on the rejects tables, so a build reports rejects by reason.
-#}
{% test has_no_rows(model, group_by) %}
select
    {{ group_by }},
    count(*) as rows_found
from {{ model }}
group by {{ group_by }}
{% endtest %}
