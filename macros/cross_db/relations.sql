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

{#- A composite sort key of `expressions` (a list), for min_by / max_by: DuckDB's row(...), Spark's
    struct(...); both compare field by field. -#}
{% macro composite_key(expressions) -%}
    {{ return(adapter.dispatch('composite_key', 'customer_segmentation')(expressions)) }}
{%- endmacro %}

{% macro default__composite_key(expressions) -%}
    row({{ expressions | join(', ') }})
{%- endmacro %}

{% macro spark__composite_key(expressions) -%}
    struct({{ expressions | join(', ') }})
{%- endmacro %}

{#- The value of `expression` on the group's first row in the order of `order_by`, a list of
    (expression, 'asc' or 'desc') pairs: DuckDB's ordered first(). Spark has no ordered aggregate: there
    it is min_by on a composite key, a desc term negated (so a desc term must be a number). -#}
{% macro first_in_order(expression, order_by) -%}
    {{ return(adapter.dispatch('first_in_order', 'customer_segmentation')(expression, order_by)) }}
{%- endmacro %}

{% macro default__first_in_order(expression, order_by) -%}
    first(
            {{ expression }} order by
            {%- for term, direction in order_by %}
                {{ term }} {{ direction }}{{ ',' if not loop.last }}
            {%- endfor %}
        )
{%- endmacro %}

{% macro spark__first_in_order(expression, order_by) -%}
    {%- set key = [] -%}
    {%- for term, direction in order_by -%}
        {%- do key.append('-(' ~ term ~ ')' if direction == 'desc' else term) -%}
    {%- endfor -%}
    min_by({{ expression }}, {{ composite_key(key) }})
{%- endmacro %}

{#- A pseudo-random 64-bit number from one or more values (a comma-separated list), to sample rows or
    to tell rows apart: DuckDB's hash(), Spark's xxhash64(). The two differ, so the sample of a Spark build is another seeded sample of the same size
    (the same rows wherever the sample takes every row). -#}
{% macro sample_hash(expression) -%}
    {{ return(adapter.dispatch('sample_hash', 'customer_segmentation')(expression)) }}
{%- endmacro %}

{% macro default__sample_hash(expression) -%}
    hash({{ expression }})
{%- endmacro %}

{% macro spark__sample_hash(expression) -%}
    xxhash64({{ expression }})
{%- endmacro %}

{#- sample_hash as a number in [0, 1] (DuckDB's hash() is unsigned, Spark's xxhash64() signed): a row
    whose number is below a share is in a seeded sample of about that share. -#}
{% macro sample_unit(expression) -%}
    {{ return(adapter.dispatch('sample_unit', 'customer_segmentation')(expression)) }}
{%- endmacro %}

{% macro default__sample_unit(expression) -%}
    (cast({{ sample_hash(expression) }} as double) / 1.8446744073709552e19)
{%- endmacro %}

{% macro spark__sample_unit(expression) -%}
    (cast({{ sample_hash(expression) }} as double) / 1.8446744073709552e19 + 0.5)
{%- endmacro %}

{#- Semi and anti joins (the left rows with, or without, a match): DuckDB's `semi join` and
    `anti join`, Spark's `left semi join` and `left anti join`. -#}
{% macro semi_join() -%}
    {{ return(adapter.dispatch('semi_join', 'customer_segmentation')()) }}
{%- endmacro %}

{% macro default__semi_join() -%}semi join{%- endmacro %}

{% macro spark__semi_join() -%}left semi join{%- endmacro %}

{% macro anti_join() -%}
    {{ return(adapter.dispatch('anti_join', 'customer_segmentation')()) }}
{%- endmacro %}

{% macro default__anti_join() -%}anti join{%- endmacro %}

{% macro spark__anti_join() -%}left anti join{%- endmacro %}

{#- first_per_group (macros/features.sql) without qualify, which Spark lacks: the rank in a subquery. -#}
{% macro spark__first_per_group(relation, group_by, order_by, limit, columns) -%}
    select
        {%- for column in group_by + columns %}
        {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from (
        select
            *,
            row_number() over (
                partition by {{ group_by | join(', ') }}
                order by {{ order_by }}
            ) as rank_in_group
        from {{ relation }}
    ) as ranked_{{ relation }}
    where rank_in_group <= {{ limit }}
{%- endmacro %}
