{#- Reused pieces of the staging models' row validation. -#}

{% macro build_started_at() -%}
    {#- The moment this dbt invocation started, as a SQL timestamp: a raw timestamp later than this can
        only be a clock or typing error. Fixed for the whole build, so every model agrees. -#}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
{%- endmacro %}

{% macro is_blank(column) -%}
    nullif(trim({{ column }}), '') is null
{%- endmacro %}

{% macro text_value(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{% macro rejection_reasons(checks) -%}
    {#- checks: list of (sql condition, reason) pairs. Gives every failed reason joined by '; ', or null
        for a clean row. A row the CSV reader could not read (read_problem, from load_raw) has no values
        to check: its reason is the reader's alone. -#}
    coalesce(read_problem, nullif(concat_ws(
        '; '
        {%- for condition, reason in checks %},
        case when {{ condition }} then '{{ reason }}' end
        {%- endfor %}
    ), ''))
{%- endmacro %}

{% macro timestamp_checks(column, parsed_column, required=true) -%}
    {#- The usual checks of a raw timestamp column, as (condition, reason) pairs. -#}
    {%- set checks = [] -%}
    {%- if required -%}
        {%- do checks.append((is_blank(column), 'missing ' ~ column)) -%}
    {%- endif -%}
    {%- do checks.append(('not ' ~ is_blank(column) ~ ' and ' ~ parsed_column ~ ' is null',
                          'unparsable ' ~ column)) -%}
    {%- do checks.append((parsed_column ~ ' > ' ~ build_started_at(), column ~ ' later than the build')) -%}
    {{ return(checks) }}
{%- endmacro %}

{% macro rejected_rows(base_relation, table_name) %}
    {#- The rejects of one raw table: its raw values as text, the reasons, and where the row came from. -#}
    select
        {%- for column in raw_contract()[table_name]['columns'] %}
        {{ column }},
        {%- endfor %}
        rejection_reason,
        source_file,
        source_row_number,
        source_line_number,
        source_line
    from {{ base_relation }}
    where rejection_reason is not null
{% endmacro %}

{% macro number_var(name) %}
    {#- var(name) as a SQL number literal; stops with a message when it is not a plain number, so a var
        can never put anything but a number into the SQL. -#}
    {%- set value = var(name) | string | trim -%}
    {%- if not modules.re.match('^-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?$', value) -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ " must be a number, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value) }}
{% endmacro %}

{% macro rejection_reason(key_columns, duplicate_reason) -%}
    {#- Why a checked raw row (in `checked`, joined to `duplicated`, see validated_rows) is rejected, or
        null when it is accepted: its own problems (row_problems) first; then, among the usable rows that
        share the key, every row after the first in file order is a duplicate. The one dedupe rule of
        every staging table with a key. -#}
    case
        when checked.row_problems is not null then checked.row_problems
        when checked.source_row_number > duplicated.kept_row_number then {{ sql_string(duplicate_reason) }}
    end
{%- endmacro %}

{% macro validated_rows(parsed, checks, key_columns=none, duplicate_reason=none) -%}
    {#- The last step of every base_raw__ model: the parsed rows (a CTE name) with rejection_reason, from
        checks (see rejection_reasons) and, for a table with a key, the dedupe rule (rejection_reason()).
        A table with a key also keeps row_problems, its rows' own problems. -#}
    {%- if key_columns is none %}
    select
        *,
        {{ rejection_reasons(checks) }} as rejection_reason
    from {{ parsed }}
    {%- else %}
    {#- The duplicates come from an aggregate of the keys held by more than one usable row, joined back,
        not from a window over the whole table: a window holds every row with all its raw text in memory,
        and 8.7 M transactions at 1,000,000 customers ran out of DuckDB's memory limit. -#}
    with

    checked as (
        select
            *,
            {{ rejection_reasons(checks) }} as row_problems
        from {{ parsed }}
    ),

    duplicated as (
        select
            {{ key_columns | join(', ') }},
            min(source_row_number) as kept_row_number
        from checked
        where row_problems is null
        group by {{ key_columns | join(', ') }}
        having count(*) > 1
    )

    select
        checked.*,
        {{ rejection_reason(key_columns, duplicate_reason) }} as rejection_reason
    from checked
    left join duplicated
        on
            {%- for key in key_columns %}
            {{ 'and ' if not loop.first }}checked.{{ key }} = duplicated.{{ key }}
            {%- endfor %}
    {%- endif %}
{%- endmacro %}

{% macro is_accepted_transaction(transaction_id) -%}
    {#- Whether a parsed transaction id is among the accepted transactions (those stg_raw__transactions
        keeps), false for a null id. Read from base_raw__transactions, so that data_quality never waits on
        stg_raw__transactions, which stops a build with no transactions. -#}
    coalesce({{ transaction_id }} in (
        select parsed_transaction_id from {{ ref('base_raw__transactions') }}
        where rejection_reason is null
    ), false)
{%- endmacro %}
