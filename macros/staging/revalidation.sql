{#-
    Staging that validates only what changed, with var incremental_staging true (off by default: measured
    slower than validating every row, dbt_project.yml). A daily export of a raw table is yesterday's file
    with a day of rows more: parsing and checking its millions of unchanged rows again gives the same
    answer.
    staged_rows() builds a base_raw__ model from its raw rows, its parse expressions and its checks (the
    validated_rows() rules), and, when the table it built last time still stands and was built by the
    same rules, keeps its accepted rows that are still in the file unchanged and validates the rest:

    - A raw row is the same row when its file, row number and every raw value (raw_row_hash over the
      raw text, the reader's problem and line) are the same: a changed or moved row is a new row, a
      removed one is gone, and a file from another folder is all new.
    - The table keeps the raw text of its rejected rows only (the rejects tables show it; nothing reads
      an accepted row's text again once it is parsed), and every row's raw_row_hash. Writing the text
      of every row took a quarter of the three tables' CPU at 1,000,000 customers (176 CPU s against 135
      with it nulled on the accepted rows; docs/measurements.md, "Scale").
    - Rejected rows are always validated again: a rejection can lapse (a timestamp no longer later than
      the build; an order line whose transaction came in the new file).
    - In a table with a key, an accepted row is validated again with every other row of its key when
      any row of that key is new or rejected, so the dedupe rule (first usable row in file order) is
      applied over all the key's rows, as a full build applies it.
    - `recheck`: a condition on a stored row (its columns as the table holds them) that must still hold
      for it to be kept (order lines: their transaction is still accepted).
    - The rules are fingerprinted (column validation_fingerprint): the rendered parse expressions and
      checks (build time and database name left out), the key and the recheck. A build whose
      fingerprint differs from the stored one (a release that parses or checks differently) validates
      every row. So does `dbt build --full-refresh`, var incremental_staging false, and any engine but
      DuckDB.

    A row is accepted or rejected by its own values, its key's earlier rows, the accepted transactions and
    the build time, which only moves forward; so the table is the one a full build gives, row for row
    (tests/e2e/test_freshness.py builds both and compares every mart).
-#}

{% macro staged_rows(table_name, source, parsed_columns, checks, key_columns=none, duplicate_reason=none,
                     recheck=none) -%}
    {#- 'lean': the layout that keeps raw text for rejected rows only and stores raw_row_hash; a table
        built before it validates every row again. -#}
    {%- set rules = ('lean|' ~ parsed_columns ~ rejection_reasons(checks) ~ (key_columns or []) | join(',')
                     ~ (duplicate_reason or '') ~ (recheck or '')) | replace(build_started_at(), '')
                     | replace(adapter.quote(this.database) ~ '.', '') -%}
    {%- set fingerprint = local_md5(table_name ~ '|' ~ rules) -%}
    {%- set reuse = staging_can_reuse(table_name, fingerprint) -%}
    {%- if reuse %}
    {{ log('Staging ' ~ table_name ~ ': validating the rows new or changed since the last build', info=true) }}
    {%- endif %}
    with

    hashed as {{ not_materialized() }} (
        select
            *,
            {{ raw_row_hash(table_name) }} as raw_row_hash
        from {{ source }}
    ),

    parsed as {{ not_materialized() }} (
        select
            *,
            {{ parsed_columns }},
            {{ sql_string(fingerprint) }} as validation_fingerprint
        from hashed
    ),
    {%- if reuse %}

    stored as {{ not_materialized() }} (
        select * from {{ this }}
    ),

    unchanged as (
        -- File rows held accepted, with the same values at the same place.
        select stored.source_row_number
        from stored
        inner join hashed
            on
                stored.source_row_number = hashed.source_row_number
                and stored.source_file = hashed.source_file
                and stored.raw_row_hash = hashed.raw_row_hash
        where stored.rejection_reason is null
    ),
    {%- if key_columns %}

    changed_keys as (
        -- Keys of the rows to validate: new, changed or rejected before.
        select distinct
            {%- for key in key_columns %}
            parsed.{{ key }}{{ ',' if not loop.last }}
            {%- endfor %}
        from parsed
        anti join unchanged
            on parsed.source_row_number = unchanged.source_row_number
    ),
    {%- endif %}

    kept as {{ not_materialized() }} (
        select stored.*
        from stored
        semi join unchanged
            on stored.source_row_number = unchanged.source_row_number
        {%- if key_columns %}
        anti join changed_keys
            on {{ same_keys('stored', 'changed_keys', key_columns) }}
        {%- endif %}
        {%- if recheck %}
        where {{ recheck }}
        {%- endif %}
    ),

    to_validate as (
        select {{ raw_star(table_name, 'parsed') }}
        from parsed
        anti join kept
            on parsed.source_row_number = kept.source_row_number
    ),
    {%- else %}

    to_validate as (
        select {{ raw_star(table_name, 'parsed') }}
        from parsed
    ),
    {%- endif %}

    validated as (
        {{ validated_rows('to_validate', checks, key_columns, duplicate_reason) | indent(8) }}
    )

    {#- The raw text columns come last (one spelling on DuckDB and Spark, which has no `* replace`). -#}
    {%- set raw_text = raw_text_of_rejects(table_name) %}
    select
        {{ star_except('validated', raw_text.keys() | list) }},
        {%- for column, expression in raw_text.items() %}
        {{ expression }} as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from validated
    {%- if reuse %}
    union all by name
    select * from kept
    {%- endif %}
{%- endmacro %}

{% macro raw_text_of_rejects(table_name) -%}
    {#- {column: expression} keeping each raw text column of table_name on rejected rows only. -#}
    {%- set replacements = {} -%}
    {%- for column in raw_contract()[table_name]['columns'] -%}
        {%- do replacements.update({column: 'case when rejection_reason is null then null else ' ~ column ~ ' end'}) -%}
    {%- endfor -%}
    {{ return(replacements) }}
{%- endmacro %}

{% macro raw_row_hash(table_name) -%}
    {#- One value per raw row from everything read from the file: the contract columns as text, the file,
        and, for a row the reader could not read, its problem and line. -#}
    {%- set values = raw_contract()[table_name]['columns'] + ['source_file', 'read_problem', 'source_line'] -%}
    {{ sample_hash(values | join(', ')) }}
{%- endmacro %}

{% macro staging_can_reuse(table_name, fingerprint) %}
    {#- Whether the base_raw__ table standing now was built by these rules, so that its unchanged accepted
        rows can be kept (see the top of this file). -#}
    {{ return(adapter.dispatch('staging_can_reuse', 'customer_segmentation')(table_name, fingerprint)) }}
{% endmacro %}

{% macro default__staging_can_reuse(table_name, fingerprint) %}
    {{ return(false) }}
{% endmacro %}

{% macro duckdb__staging_can_reuse(table_name, fingerprint) %}
    {%- if not var('incremental_staging', false) -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(stored_rows_can_reuse(fingerprint, 'validation_fingerprint')) }}
{% endmacro %}

{% macro stored_rows_can_reuse(fingerprint, fingerprint_column) %}
    {#- Whether the table this model built last time still stands (DuckDB only, not on --full-refresh)
        and every row of it carries `fingerprint` in `fingerprint_column`: built by the same rules, so
        its rows that nothing changed can be kept. Never in a unit test: its rows are its fixtures only. -#}
    {%- if not execute or flags.FULL_REFRESH or target.type != 'duckdb' or model.resource_type == 'unit_test' -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set stored = load_relation(this) -%}
    {%- if stored is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(stored) | map(attribute='name') | list -%}
    {%- if fingerprint_column not in columns -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set counted = run_query(
        'select count(*), count(*) filter (where ' ~ fingerprint_column ~ ' = ' ~ sql_string(fingerprint) ~ ')'
        ~ ' from ' ~ stored).rows[0] -%}
    {{ return(counted[0] > 0 and counted[0] == counted[1]) }}
{% endmacro %}
