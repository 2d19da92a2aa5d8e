{#- Reused pieces of the feature models. -#}

{% macro source_has_rows(relation) -%}
    {#- A scalar SQL boolean: whether an optional input holds any row. Features from an absent input stay
        null; from a present one, a customer without rows in it gets 0. -#}
    (select count(*) > 0 from {{ relation }})
{%- endmacro %}

{% macro zero_if_present(expression, present_flag) -%}
    case when {{ present_flag }} then coalesce({{ expression }}, 0) end
{%- endmacro %}

{% macro zero_if_present_columns(relation, columns, present_flag) -%}
    {#- zero_if_present of each of columns of relation, named as the column (a select list, no trailing
        comma). -#}
    {%- for column in columns %}
    {{ zero_if_present(relation ~ '.' ~ column, present_flag) }} as {{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{% macro share_of(numerator, denominator) -%}
    cast({{ numerator }} as double) / nullif({{ denominator }}, 0)
{%- endmacro %}

{% macro capped_share_of(numerator, denominator) -%}
    {#- A share that real histories can push past 1 (refunds of orders placed before the data starts, a
        refund and a chargeback of the same order), capped at 1: "all of it, or more". Null when the
        denominator is 0 (DuckDB's least() would skip the null and give 1). -#}
    case
        when {{ share_of(numerator, denominator) }} > 1 then 1.0
        else {{ share_of(numerator, denominator) }}
    end
{%- endmacro %}

{% macro balance(recent, earlier) -%}
    {#- (recent - earlier) / (recent + earlier): -1 = all earlier, 0 = steady, 1 = all recent; null when
        both are 0. -#}
    (cast({{ recent }} as double) - {{ earlier }}) / nullif(cast({{ recent }} as double) + {{ earlier }}, 0)
{%- endmacro %}

{% macro top_categories() %}
    {#- The category-share feature columns, as a list of {'category': ..., 'column': ...} read from
        int_top_categories. A model that calls this needs `-- depends_on: {{ ref('int_top_categories') }}`. -#}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {#- Before the first build (dbt compile, or the linter on a scratch database) the table does not exist
        yet: no category columns, rather than a compilation error. In a build it is always upstream. -#}
    {%- if load_relation(ref('int_top_categories')) is none -%}{{ return([]) }}{%- endif -%}
    {%- set query -%}
        select category, feature_name from {{ ref('int_top_categories') }} order by category_rank
    {%- endset -%}
    {%- set categories = [] -%}
    {%- for row in run_query(query).rows -%}
        {%- do categories.append({'category': row[0], 'column': row[1]}) -%}
    {%- endfor -%}
    {{ return(categories) }}
{% endmacro %}

{% macro exact_stddev_samp(integer_expression) -%}
    {#- Sample standard deviation of an integer column from exact integer sums. DuckDB's stddev_samp
        merges per-thread partial states in whatever order threads finish, which changes the last bits
        between runs; features must be identical for the same data. -#}
    sqrt(
        greatest(
            count({{ integer_expression }}) * sum(cast({{ integer_expression }} as hugeint) * {{ integer_expression }})
            - sum(cast({{ integer_expression }} as hugeint)) * sum(cast({{ integer_expression }} as hugeint)),
            0
        ) / nullif(count({{ integer_expression }}) * (count({{ integer_expression }}) - 1), 0)
    )
{%- endmacro %}

{% macro rows_before_as_of(relation, time_column, as_of_columns=['as_of_date'], keep_undated=false) -%}
    {#- The as-of filter of the feature models: every row of `relation` (a CTE or relation) dated before
        the start of each as-of date, once per as-of date, with that date's `as_of_columns` (of
        int_as_of_dates) first. keep_undated: rows whose `time_column` is null count at every date. -#}
    select
        {%- for column in as_of_columns %}
        as_of_dates.{{ column }},
        {%- endfor %}
        {{ relation }}.*
    from {{ relation }}
    inner join {{ ref('int_as_of_dates') }} as as_of_dates
        on
            {%- if keep_undated %} {{ relation }}.{{ time_column }} is null or{% endif %}
            {{ relation }}.{{ time_column }} < as_of_dates.as_of_date
{%- endmacro %}

{% macro same_keys(left, right, keys) -%}
    {#- A join condition: the relations (or CTEs) left and right agree on every column named in keys. -#}
    {%- for key in keys -%}
    {{ ' and ' if not loop.first }}{{ left }}.{{ key }} = {{ right }}.{{ key }}
    {%- endfor -%}
{%- endmacro %}
