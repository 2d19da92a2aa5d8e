{#-
    `name as {{ not_materialized() }} (...)`: a CTE the query reads more than once that DuckDB should read
    again rather than copy. DuckDB 1.4 materializes every CTE referenced twice or more, even a plain
    `select * from <table>`: the copy sits in memory for the whole query, and a multi-million-row one
    pushed the recommendation and risk models past the memory limit at 1,000,000 customers (see
    duckdb/duckdb#20958). Reading a table or a cheap filter of it twice costs a scan. Other adapters
    (Spark) have no such hint and decide for themselves: nothing there.
-#}
{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized', 'customer_segmentation')()) }}
{%- endmacro %}

{% macro default__not_materialized() -%}
{%- endmacro %}

{% macro duckdb__not_materialized() -%}
    not materialized
{%- endmacro %}
