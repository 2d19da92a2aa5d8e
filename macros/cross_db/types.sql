{#-
    Column types that DuckDB and Spark spell differently. Each macro is dispatched
    (adapter.dispatch(name, 'customer_segmentation')): duckdb__ gives exactly what the models wrote before
    they were made portable, so the DuckDB build compiles to the same SQL; spark__ is Spark SQL (dbt-spark,
    also Databricks); default__ is ANSI SQL for any other adapter.
-#}

{#- The type of free text: DuckDB's varchar, Spark's string (Spark rejects varchar without a length). -#}
{% macro text_type() -%}
    {{ return(adapter.dispatch('text_type', 'customer_segmentation')()) }}
{%- endmacro %}

{% macro default__text_type() -%}varchar{%- endmacro %}

{% macro duckdb__text_type() -%}varchar{%- endmacro %}

{% macro spark__text_type() -%}string{%- endmacro %}

{#- An integer type wide enough for sums of squares of integers: DuckDB's 128-bit hugeint; Spark has
    no 128-bit integer, and decimal(38, 0) holds as many digits. -#}
{% macro wide_integer_type() -%}
    {{ return(adapter.dispatch('wide_integer_type', 'customer_segmentation')()) }}
{%- endmacro %}

{% macro default__wide_integer_type() -%}decimal(38, 0){%- endmacro %}

{% macro duckdb__wide_integer_type() -%}hugeint{%- endmacro %}
