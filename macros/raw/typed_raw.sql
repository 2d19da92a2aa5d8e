{#-
    The typed fast path for parquet input. A parquet file can type its timestamp and number columns
    already. Staging keeps every raw value as text (the rejects tables show what the file held, and the
    raw row hash of incremental staging is taken over the text), and used to parse each value back from
    that text: a regular expression for a time-zone suffix and a cast for a timestamp, a trim and a
    decimal parse for an amount, on every row.

    - Timestamps: for a column the file types as TIMESTAMP, TIMESTAMP WITH TIME ZONE or DATE, the value
      is read as it stands instead (converted to UTC wall time, as the text path does). Such a value
      always casts, so nothing is left to validate but its presence and the build-time check, which stay
      as they are. On 2,239,489 events this halved the CPU of base_raw__events (4.2 to 2.2 s;
      docs/measurements.md, "Scale").
    - Numbers (parse_raw_number): a column the file types as an integer is cast as it stands. A DECIMAL,
      DOUBLE or FLOAT value is cast as it stands when it has no more decimals than the target type keeps
      (the value equals itself rounded to the target's scale); any other value (1.005, NaN, 1e20) is
      parsed from its text, so the text is validated only where the typed value could round
      differently or fail to cast, and both paths give the same parsed value and the same rejection.
    - CSV files, parquet files with text columns, and other engines keep the text path.
-#}

{% macro raw_typed_columns(table_name) %}
    {#- {column: DuckDB type} of the contract columns that table_name's raw parquet file types as a
        timestamp, a date or a number (DuckDB only; {} at parse time, for CSV and for a missing file). -#}
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
            and (row[1] in typed_timestamp_types() or typed_number_kind(row[1]) is not none) -%}
            {%- do typed.update({row[0]: row[1]}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(typed) }}
{% endmacro %}

{% macro typed_timestamp_types() %}
    {{ return(['TIMESTAMP', 'TIMESTAMP WITH TIME ZONE', 'DATE']) }}
{% endmacro %}

{% macro typed_number_kind(type_name) %}
    {#- 'integer' for a DuckDB integer type, 'fraction' for DECIMAL(p, s), DOUBLE and FLOAT, else none. -#}
    {%- if type_name in ['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT',
                         'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT'] -%}
        {{ return('integer') }}
    {%- elif type_name in ['DOUBLE', 'FLOAT'] or type_name.startswith('DECIMAL(') -%}
        {{ return('fraction') }}
    {%- endif -%}
    {{ return(none) }}
{% endmacro %}

{% macro typed_raw_column(column) -%}
    {#- The name under which load_raw passes a typed raw column's own value (raw_typed_columns). -#}
    typed__{{ column }}
{%- endmacro %}

{% macro typed_raw_columns(table_name) %}
    {#- The typed_raw_column names load_raw adds for table_name: staging drops them before it writes. -#}
    {%- set names = [] -%}
    {%- for column in raw_typed_columns(table_name) -%}
        {%- do names.append(typed_raw_column(column)) -%}
    {%- endfor -%}
    {{ return(names) }}
{% endmacro %}

{% macro parse_raw_timestamp(table_name, column) -%}
    {#- A raw timestamp column as a UTC timestamp: the file's own value when it types the column
        (raw_typed_columns), else the text parsed (parse_timestamp). Both give the same timestamp for
        the same value (tests/e2e/test_raw_loading.py). -#}
    {%- set typed = raw_typed_columns(table_name) -%}
    {%- if typed.get(column) not in typed_timestamp_types() -%}
        {{ parse_timestamp(column) }}
    {%- elif typed[column] == 'TIMESTAMP WITH TIME ZONE' -%}
        timezone('UTC', {{ typed_raw_column(column) }})
    {%- else -%}
        cast({{ typed_raw_column(column) }} as timestamp)
    {%- endif -%}
{%- endmacro %}

{% macro parse_raw_number(table_name, column, scale) -%}
    {#- A raw number column as integer (scale 0) or decimal(18, scale): the file's own value when it types
        the column (raw_typed_columns) and the value has no more decimals than scale, else the text parsed
        with try_cast. Both give the same value and the same null for the same value
        (tests/e2e/test_raw_loading.py). -#}
    {%- set number_type = 'integer' if scale == 0 else 'decimal(18, ' ~ scale ~ ')' -%}
    {%- set from_text = 'try_cast(trim(' ~ column ~ ') as ' ~ number_type ~ ')' -%}
    {%- set kind = typed_number_kind(raw_typed_columns(table_name).get(column, '')) -%}
    {%- set value = typed_raw_column(column) -%}
    {%- if kind is none -%}
        {{ from_text }}
    {%- elif kind == 'integer' -%}
        try_cast({{ value }} as {{ number_type }})
    {%- else -%}
        case
            when {{ value }} = round({{ value }}, {{ scale }}) then try_cast({{ value }} as {{ number_type }})
            else {{ from_text }}
        end
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
