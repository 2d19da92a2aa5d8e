{#-
    values_between: fails on rows where the column is outside [min_value, max_value] (either bound may
    be omitted). Nulls pass; pair it with not_null where nulls are wrong.
-#}
{% test values_between(model, column_name, min_value=none, max_value=none) %}
select {{ column_name }}
from {{ model }}
where
    false
    {%- if min_value is not none %}
    or {{ column_name }} < {{ min_value }}
    {%- endif %}
    {%- if max_value is not none %}
    or {{ column_name }} > {{ max_value }}
    {%- endif %}
{% endtest %}
