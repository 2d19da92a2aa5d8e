{#- Date arithmetic that DuckDB and Spark spell differently (see types.sql for how these dispatch). -#}

{#- Whole days from `earlier` to `later` (two dates), a bigint: DuckDB subtracts dates to a bigint;
    Spark's date - date is an interval, so it takes datediff (an int, widened as the contracts say). -#}
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
    cast(datediff({{ later }}, {{ earlier }}) as bigint)
{%- endmacro %}

{#- A raw timestamp text as a UTC timestamp, or null when it does not parse (macros/staging/
    timestamps.sql documents the rule). Spark's own cast already reads a trailing offset or zone name and
    converts it to the session time zone, which the spark target of profiles.yml sets to UTC. -#}
{% macro spark__parse_timestamp(column) -%}
    try_cast(trim({{ column }}) as timestamp)
{%- endmacro %}

{#- Whether a timestamp falls on a Saturday or a Sunday: DuckDB's isodow (Monday 1 .. Sunday 7),
    Spark's dayofweek (Sunday 1 .. Saturday 7). -#}
{% macro is_weekend(timestamp) -%}
    {{ return(adapter.dispatch('is_weekend', 'customer_segmentation')(timestamp)) }}
{%- endmacro %}

{% macro default__is_weekend(timestamp) -%}
    isodow({{ timestamp }}) in (6, 7)
{%- endmacro %}

{% macro spark__is_weekend(timestamp) -%}
    dayofweek({{ timestamp }}) in (1, 7)
{%- endmacro %}
