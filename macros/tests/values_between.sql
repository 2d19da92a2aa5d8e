{#-
    values_between: fails on rows where the column is outside [min_value, max_value] (either bound may
    be omitted). Nulls pass; pair it with not_null where nulls are wrong.

    Severity warn by default: a feature outside its expected range is news about the data (real
    histories break the assumptions a generator makes), not a reason to stop every mart downstream.
    Where a value out of range would make a mart wrong (the contract's 0-1 scores), the test sets
    `config: {severity: error}` in the YAML.
-#}
{% test values_between(model, column_name, min_value=none, max_value=none) %}
{{ config(severity='warn') }}
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
