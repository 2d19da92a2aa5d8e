{#- Date arithmetic that DuckDB and Spark spell differently (see types.sql for how these dispatch). -#}

{#- Whole days from `earlier` to `later` (two dates): DuckDB subtracts dates to an integer; Spark's
    date - date is an interval, so it takes datediff. -#}
{% macro days_between(later, earlier) -%}
    {{ return(adapter.dispatch('days_between', 'customer_segmentation')(later, earlier)) }}
{%- endmacro %}

{% macro default__days_between(later, earlier) -%}
    {{ later }} - {{ earlier }}
{%- endmacro %}

{% macro duckdb__days_between(later, earlier) -%}
    {{ later }} - {{ earlier }}
{%- endmacro %}

{% macro spark__days_between(later, earlier) -%}
    datediff({{ later }}, {{ earlier }})
{%- endmacro %}

{#- A raw timestamp text as a UTC timestamp, or null when it does not parse (macros/staging/
    timestamps.sql documents the rule). Spark's own cast already reads a trailing offset or zone name and
    converts it to the session time zone, which the spark target of profiles.yml sets to UTC. -#}
{% macro spark__parse_timestamp(column) -%}
    try_cast(trim({{ column }}) as timestamp)
{%- endmacro %}
