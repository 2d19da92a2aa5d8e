{#-
    Float sums in a fixed result. DuckDB adds doubles in whatever order its threads (or a window's peer
    rows) deliver them, so a sum or an average of doubles can differ in its last bits from one build to
    the next; that broke the project's rule that the same data, vars and seed give the same marts bit for
    bit. Adding values cast to a decimal is exact, so the order no longer matters: aggregate
    `exact(expression)` and cast the result back to double. Twelve decimals keep every figure these
    models add (money, shares, similarities, gains) to far below what any ranking or threshold reads, and
    leave 26 digits before the point.
-#}
{% macro exact(expression) -%}
    cast({{ expression }} as decimal(38, 12))
{%- endmacro %}

{#- The mean of `expression` over a group, from the exact sum. -#}
{% macro exact_mean(expression) -%}
    cast(sum({{ exact(expression) }}) as double) / count({{ expression }})
{%- endmacro %}
