{#- Text functions that DuckDB and Spark spell differently (see types.sql for how these dispatch). -#}

{#- Every match of `pattern` in `text` replaced: DuckDB replaces the first match unless told 'g';
    Spark always replaces them all. The pattern must not hold a backslash (Spark's string literals
    read backslash escapes, DuckDB's do not). -#}
{% macro regexp_replace_all(text, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'customer_segmentation')(text, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regexp_replace_all(text, pattern, replacement) -%}
    regexp_replace({{ text }}, {{ pattern }}, {{ replacement }}, 'g')
{%- endmacro %}

{% macro spark__regexp_replace_all(text, pattern, replacement) -%}
    regexp_replace({{ text }}, {{ pattern }}, {{ replacement }})
{%- endmacro %}

{#- `text` without the characters of `characters` (a SQL string) at either end. -#}
{% macro trim_characters(text, characters) -%}
    {{ return(adapter.dispatch('trim_characters', 'customer_segmentation')(text, characters)) }}
{%- endmacro %}

{% macro default__trim_characters(text, characters) -%}
    trim(both {{ characters }} from {{ text }})
{%- endmacro %}

{% macro duckdb__trim_characters(text, characters) -%}
    trim({{ text }}, {{ characters }})
{%- endmacro %}

{#- The texts of a group joined by `separator` in `order_by` order. -#}
{% macro ordered_string_agg(expression, separator, order_by) -%}
    {{ return(adapter.dispatch('ordered_string_agg', 'customer_segmentation')(expression, separator, order_by)) }}
{%- endmacro %}

{% macro default__ordered_string_agg(expression, separator, order_by) -%}
    listagg({{ expression }}, {{ separator }}) within group (order by {{ order_by }})
{%- endmacro %}

{% macro duckdb__ordered_string_agg(expression, separator, order_by) -%}
    string_agg(
            {{ expression }}, {{ separator }}
            order by {{ order_by }}
        )
{%- endmacro %}

{% macro spark__ordered_string_agg(expression, separator, order_by) -%}
    string_agg({{ expression }}, {{ separator }}) within group (order by {{ order_by }})
{%- endmacro %}
