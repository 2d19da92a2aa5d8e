{#- expression_is_true: fails on every row where the SQL expression is not true (on a model or a column). -#}
{% test expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not coalesce({{ expression }}, false)
{% endtest %}
