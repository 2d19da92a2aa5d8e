{#- Select-list and aggregate syntax that DuckDB and Spark spell differently (see types.sql). -#}

{#- Every column of `relation` (a CTE or relation name) but `columns`: DuckDB's `* exclude (...)`,
    Spark's `* except (...)`. -#}
{% macro star_except(relation, columns) -%}
    {{ return(adapter.dispatch('star_except', 'customer_segmentation')(relation, columns)) }}
{%- endmacro %}

{% macro default__star_except(relation, columns) -%}
    {{ relation }}.* exclude ({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__star_except(relation, columns) -%}
    {{ relation }}.* except ({{ columns | join(', ') }})
{%- endmacro %}

{#- sum(expression) adding the rows in `order_by` order, so that a float sum is the same bit for bit
    in every build (DuckDB). Spark has no ordered sum: there the order, and so the last bits of the
    sum, follow the partitions. -#}
{% macro sum_in_order(expression, order_by) -%}
    {{ return(adapter.dispatch('sum_in_order', 'customer_segmentation')(expression, order_by)) }}
{%- endmacro %}

{% macro default__sum_in_order(expression, order_by) -%}
    sum({{ expression }})
{%- endmacro %}

{% macro duckdb__sum_in_order(expression, order_by) -%}
    sum({{ expression }} order by {{ order_by }})
{%- endmacro %}
