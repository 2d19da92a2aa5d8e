{#- Reused pieces of the feature models. -#}

{% macro source_has_rows(relation) -%}
    {#- A scalar SQL boolean: whether an optional input holds any row. Features from an absent input stay
        null; from a present one, a customer without rows in it gets 0. -#}
    (select count(*) > 0 from {{ relation }})
{%- endmacro %}

{% macro zero_if_present(expression, present_flag) -%}
    case when {{ present_flag }} then coalesce({{ expression }}, 0) end
{%- endmacro %}

{% macro zero_if_present_columns(present_flag, relation, columns) -%}
    {#- zero_if_present(relation.column, present_flag) of each of columns, named as the column (a select
        list, no trailing comma). -#}
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
    {%- set numerator -%}
        greatest(
            count({{ integer_expression }}) * sum(cast({{ integer_expression }} as {{ wide_integer_type() }}) * {{ integer_expression }})
            - sum(cast({{ integer_expression }} as {{ wide_integer_type() }})) * sum(cast({{ integer_expression }} as {{ wide_integer_type() }})),
            0
        )
    {%- endset %}
    sqrt(
        {{ divide(numerator, 'nullif(count(' ~ integer_expression ~ ') * (count(' ~ integer_expression ~ ') - 1), 0)') }}
    )
{%- endmacro %}

{% macro rows_as_of(
    relation, time_column, as_of_columns=['as_of_date'], window='history', keep_undated=false
) -%}
    {#- The as-of filter of the feature and label models: the rows of `relation` (a CTE or relation) that
        each as-of date of int_as_of_dates sees, once per as-of date, with that date's `as_of_columns`
        first. window 'history': the rows dated before the start of the as-of date (keep_undated: rows
        whose `time_column` is null count at every date). window 'current': the 'history' rows of the
        current as-of date only (what a build scores today). window 'label': the rows of the horizon after
        each past as-of date, [as_of_date, label_window_end_date), which labels learn from. -#}
    select
        {%- for column in as_of_columns %}
        as_of_dates.{{ column }},
        {%- endfor %}
        {{ relation }}.*
    from {{ relation }}
    inner join {{ ref('int_as_of_dates') }} as as_of_dates
    {%- if window in ('history', 'current') %}
        on
            {%- if keep_undated %} {{ relation }}.{{ time_column }} is null or{% endif %}
            {{ relation }}.{{ time_column }} < as_of_dates.as_of_date
    {%- if window == 'current' %}
    where as_of_dates.is_current
    {%- endif %}
    {%- elif window == 'label' %}
        on {{ relation }}.{{ time_column }} >= as_of_dates.as_of_date
            and {{ relation }}.{{ time_column }} < as_of_dates.label_window_end_date
    where not as_of_dates.is_current
    {%- else %}
    {{ exceptions.raise_compiler_error(
        "rows_as_of: window must be 'history', 'current' or 'label', got '" ~ window ~ "'"
    ) }}
    {%- endif %}
{%- endmacro %}

{% macro same_keys(left, right, keys) -%}
    {#- A join condition: the relations (or CTEs) left and right agree on every column named in keys. -#}
    {%- for key in keys -%}
    {{ ' and ' if not loop.first }}{{ left }}.{{ key }} = {{ right }}.{{ key }}
    {%- endfor -%}
{%- endmacro %}

{% macro first_per_group(relation, group_by, order_by, limit, columns=['item_key']) -%}
    {#- The first `limit` rows of each group of relation (group_by: a list of columns) in order_by order,
        ties never (order_by ends on a key): the group columns and columns. Spark has no qualify
        (macros/cross_db/relations.sql). -#}
    {{ return(adapter.dispatch('first_per_group', 'customer_segmentation')(relation, group_by, order_by, limit, columns)) }}
{%- endmacro %}

{% macro default__first_per_group(relation, group_by, order_by, limit, columns) -%}
    select
        {%- for column in group_by + columns %}
        {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }}
    qualify row_number() over (
            partition by {{ group_by | join(', ') }}
            order by {{ order_by }}
        ) <= {{ limit }}
{%- endmacro %}

{% macro as_of_periods() -%}
    {#- The periods between consecutive as-of dates of int_as_of_dates, for models that aggregate their
        rows once per period and let each snapshot add up the periods before its date (instead of reading
        every row once per as-of date, as rows_as_of does): one row per as-of date, with its period
        number (1 = the earliest date) and the as-of date before it (null for the first). Period p holds
        the rows dated in [period_start_date, as_of_date). The as-of dates nest ('backtest' < 'training'
        < 'current'), so the rows a snapshot sees are those of its period and every earlier one. -#}
    select
        snapshot_name,
        as_of_date,
        sample_share,
        row_number() over (order by as_of_date) as period,
        lag(as_of_date) over (order by as_of_date) as period_start_date
    from {{ ref('int_as_of_dates') }}
{%- endmacro %}

{% macro in_period(time_expression, periods='periods') -%}
    {#- Join condition: time_expression falls in the period of the `periods` row (see as_of_periods). -#}
    {{ time_expression }} < {{ periods }}.as_of_date
    and ({{ periods }}.period_start_date is null or {{ time_expression }} >= {{ periods }}.period_start_date)
{%- endmacro %}

{% macro snapshot_periods(periods='periods') -%}
    {#- Which periods each snapshot adds up: one row per as-of date and period up to its own, so that a
        model joins its per-period rows to snapshots on the period (an equality join, not a range one). -#}
    select
        {{ periods }}.snapshot_name,
        {{ periods }}.as_of_date,
        {{ periods }}.sample_share,
        earlier.period
    from {{ periods }}
    inner join {{ periods }} as earlier
        on {{ periods }}.period >= earlier.period
{%- endmacro %}

{% macro customer_sample_key(customer_id) -%}
    {#- The salted customer id whose sample_hash orders customers for the seeded samples of customers:
        the recommender's past snapshots take the first var recommendation_sample_customers of them, the
        feature models' past snapshots those below a share (in_snapshot_sample). -#}
    {{ customer_id }} || '#recommendation-sample'
{%- endmacro %}

{% macro in_snapshot_sample(customer_id, as_of='snapshot_periods') -%}
    {#- Join condition: the customer is kept at the as-of date of the `as_of` row (a row of
        int_as_of_dates, as_of_periods or snapshot_periods): everyone at 'current' (sample_share 1), a
        seeded sample at the past dates (about var past_snapshot_customers customers; see
        int_as_of_dates; a null share keeps everyone). The same customers at every past date and in
        every feature model, so the models' snapshots join row for row; and the customers first in the
        recommender's sample order (customer_sample_key), so its past sample
        (int_customers_recommendation_population) lies inside this one and does not change with it.
        Put it where a model's per-customer rows meet the as-of dates (never where rows are assigned to
        periods: 'current' adds up every period). -#}
    (coalesce({{ as_of }}.sample_share, 1) >= 1
        or {{ sample_unit(customer_sample_key(customer_id)) }} < {{ as_of }}.sample_share)
{%- endmacro %}
