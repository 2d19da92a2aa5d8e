{#- Arithmetic that DuckDB and Spark compute differently (see types.sql for how these dispatch). -#}

{#- numerator / denominator as a double, which is what DuckDB's / gives for integers and decimals alike.
    Spark divides decimals as decimals, rounding the quotient to 6 decimal places (0.030189 where
    DuckDB gives 0.030188901312305116), so there the numerator becomes a double first. -#}
{% macro divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('divide', 'customer_segmentation')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__divide(numerator, denominator) -%}
    {{ numerator }} / {{ denominator }}
{%- endmacro %}

{% macro spark__divide(numerator, denominator) -%}
    cast({{ numerator }} as double) / {{ denominator }}
{%- endmacro %}

{#- The mean of a decimal expression over the group's rows (those where `where` holds, if given), as a
    double: DuckDB's avg of a decimal (an exact sum, then one division). Spark's avg of a decimal is a
    decimal rounded to 6 places more than the input's, so there the exact sum is divided as a double. -#}
{% macro decimal_mean(expression, where=none) -%}
    {{ return(adapter.dispatch('decimal_mean', 'customer_segmentation')(expression, where)) }}
{%- endmacro %}

{% macro default__decimal_mean(expression, where) -%}
    avg({{ expression }}){{ ' filter (where ' ~ where ~ ')' if where is not none }}
{%- endmacro %}

{% macro spark__decimal_mean(expression, where) -%}
    {%- set only = ' filter (where ' ~ where ~ ')' if where is not none else '' -%}
    cast(sum({{ expression }}){{ only }} as double)
    / nullif(count({{ expression }}){{ only }}, 0)
{%- endmacro %}
