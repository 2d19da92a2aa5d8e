{#-
    The typed fast path for parquet input. A parquet file can type its timestamp columns already. Staging
    keeps every raw value as text (the rejects tables show what the file held, and the raw row hash of
    incremental staging is taken over the text), and used to parse each timestamp back from that text:
    a regular expression for a time-zone suffix and a cast, on every row. For a column the file types
    as TIMESTAMP, TIMESTAMP WITH TIME ZONE or DATE, the value is read as it stands instead (converted
    to UTC wall time, as the text path does), and the text is only printed for the raw column. Such a
    value always casts, so nothing is left to validate but its presence and the build-time check, which
    stay as they are. On 2,239,489 events this halved the CPU of base_raw__events (4.2 to 2.2 s; README,
    "Scale"). CSV files, parquet files with text timestamps, and other engines keep the text path.
-#}

{% macro raw_typed_timestamps(table_name) %}
    {#- {column: DuckDB type} of the contract columns that table_name's raw parquet file types as a
        timestamp or date (DuckDB only; {} at parse time, for CSV and for a missing file). -#}
    {%- if not execute or target.type != 'duckdb' -%}
        {{ return({}) }}
    {%- endif -%}
    {%- set path = find_raw_file(table_name) -%}
    {%- if path is none or not path.endswith('.parquet') -%}
        {{ return({}) }}
    {%- endif -%}
    {%- set contract_columns = raw_contract()[table_name]['columns'] -%}
    {%- set typed = {} -%}
    {%- for row in run_query('describe select * from ' ~ parquet_relation(path)).rows -%}
        {%- if row[0] in contract_columns
            and row[1] in ['TIMESTAMP', 'TIMESTAMP WITH TIME ZONE', 'DATE'] -%}
            {%- do typed.update({row[0]: row[1]}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(typed) }}
{% endmacro %}

{% macro typed_raw_column(column) -%}
    {#- The name under which load_raw passes a typed raw column's own value (raw_typed_timestamps). -#}
    typed__{{ column }}
{%- endmacro %}

{% macro typed_raw_columns(table_name) %}
    {#- The typed_raw_column names load_raw adds for table_name: staging drops them before it writes. -#}
    {%- set names = [] -%}
    {%- for column in raw_typed_timestamps(table_name) -%}
        {%- do names.append(typed_raw_column(column)) -%}
    {%- endfor -%}
    {{ return(names) }}
{% endmacro %}

{% macro parse_raw_timestamp(table_name, column) -%}
    {#- A raw timestamp column as a UTC timestamp: the file's own value when it types the column
        (raw_typed_timestamps), else the text parsed (parse_timestamp). Both give the same timestamp for
        the same value (tests/e2e/test_raw_loading.py). -#}
    {%- set typed = raw_typed_timestamps(table_name) -%}
    {%- if column not in typed -%}
        {{ parse_timestamp(column) }}
    {%- elif typed[column] == 'TIMESTAMP WITH TIME ZONE' -%}
        timezone('UTC', {{ typed_raw_column(column) }})
    {%- else -%}
        cast({{ typed_raw_column(column) }} as timestamp)
    {%- endif -%}
{%- endmacro %}

{% macro raw_star(table_name, relation=none, excluded=[]) -%}
    {#- relation.* (or *) without `excluded` and the typed_raw_columns of table_name: the raw row as
        staging keeps it. -#}
    {%- set columns = excluded + typed_raw_columns(table_name) -%}
    {%- if columns and relation -%}
        {{ star_except(relation, columns) }}
    {%- elif columns -%}
        {#- Only typed columns (DuckDB): DuckDB's spelling. -#}
        * exclude ({{ columns | join(', ') }})
    {%- else -%}
        {{ relation ~ '.' if relation }}*
    {%- endif -%}
{%- endmacro %}
