{#-
    load_raw(table_name): a select of one raw table with every contract column as text, plus
    source_file and source_row_number, whatever the file holds.

    - The folder is var('raw_data_path'), or var('demo_data_path') when that is unset.
    - <table>.parquet is preferred over <table>.csv when both exist.
    - A missing optional table gives an empty select with the same columns; a missing optional column
      gives nulls. A missing required table or column stops the build with a message that names it.
    - Values stay text here: staging parses them and rejects what does not parse, keeping the raw text.
-#}
{% macro raw_data_folder() %}
    {%- set folder = var('raw_data_path', none) -%}
    {%- if folder is none or folder | string | trim == '' -%}
        {%- set folder = var('demo_data_path') -%}
    {%- endif -%}
    {{ return(folder | string | trim) }}
{% endmacro %}

{% macro sql_string(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{% macro find_raw_file(table_name) %}
    {#- Returns the path of <table>.parquet or <table>.csv in the raw folder, or none. -#}
    {%- set folder = raw_data_folder().rstrip('/') -%}
    {%- for extension in ['parquet', 'csv'] -%}
        {%- set pattern = folder ~ '/' ~ table_name ~ '.' ~ extension -%}
        {%- set found = run_query('select file from glob(' ~ sql_string(pattern) ~ ')') -%}
        {%- if found.rows | length > 0 -%}
            {{ return(found.rows[0][0]) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{% endmacro %}

{% macro raw_file_reader(path) -%}
    {%- if path.endswith('.parquet') -%}
        read_parquet({{ sql_string(path) }})
    {%- else -%}
        read_csv(
            {{ sql_string(path) }},
            header = true,
            all_varchar = true,
            null_padding = true,
            strict_mode = false
        )
    {%- endif -%}
{%- endmacro %}

{% macro load_raw(table_name) %}
    {%- set spec = raw_contract()[table_name] -%}
    {%- if not execute -%}
        {#- Parsing: only the shape matters. -#}
        select
            {%- for column in spec['columns'] %}
            cast(null as varchar) as {{ column }},
            {%- endfor %}
            cast(null as varchar) as source_file,
            cast(null as bigint) as source_row_number
        where false
    {%- else -%}
        {%- set path = find_raw_file(table_name) -%}
        {%- if path is none and spec['required'] -%}
            {{ exceptions.raise_compiler_error(
                "Required raw file missing: " ~ table_name ~ ".csv or " ~ table_name ~ ".parquet not found in '"
                ~ raw_data_folder() ~ "'. Set the var raw_data_path to a folder laid out as the data contract says"
                ~ " (or run `make demo` to generate the demo data).") }}
        {%- endif -%}
        {%- if path is none -%}
            select
                {%- for column in spec['columns'] %}
                cast(null as varchar) as {{ column }},
                {%- endfor %}
                cast(null as varchar) as source_file,
                cast(null as bigint) as source_row_number
            where false
        {%- else -%}
            {%- set described = run_query('describe select * from ' ~ raw_file_reader(path)) -%}
            {%- set present = described.columns[0].values() | list -%}
            {%- for column in spec['required_columns'] -%}
                {%- if column not in present -%}
                    {{ exceptions.raise_compiler_error(
                        "Required column missing: '" ~ column ~ "' is not in " ~ path
                        ~ " (columns found: " ~ present | join(', ') ~ ").") }}
                {%- endif -%}
            {%- endfor -%}
            select
                {%- for column in spec['columns'] %}
                {%- if column in present %}
                cast({{ adapter.quote(column) }} as varchar) as {{ column }},
                {%- else %}
                cast(null as varchar) as {{ column }},
                {%- endif %}
                {%- endfor %}
                {{ sql_string(path) }} as source_file,
                row_number() over () as source_row_number
            from {{ raw_file_reader(path) }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}

{% macro raw_column_present(table_name, column) %}
    {#- True when the raw file of table_name exists and has the column (false at parse time). -#}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set path = find_raw_file(table_name) -%}
    {%- if path is none -%}{{ return(false) }}{%- endif -%}
    {%- set described = run_query('describe select * from ' ~ raw_file_reader(path)) -%}
    {{ return(column in (described.columns[0].values() | list)) }}
{% endmacro %}

{% macro load_ground_truth(name, columns) %}
    {#- The demo generator's ground truth (<raw folder>/_truth/<name>.parquet) when the raw folder has
        it, else an empty select with the same columns (as text). Only evaluation models read it: the
        pipeline's features and models never do. -#}
    {%- set path = raw_data_folder().rstrip('/') ~ '/_truth/' ~ name ~ '.parquet' -%}
    {%- set found = execute and (run_query('select file from glob(' ~ sql_string(path) ~ ')').rows | length) > 0 -%}
    {%- if found -%}
        select
            {%- for column in columns %}
            cast({{ adapter.quote(column) }} as varchar) as {{ column }}{{ "," if not loop.last }}
            {%- endfor %}
        from read_parquet({{ sql_string(path) }})
    {%- else -%}
        select
            {%- for column in columns %}
            cast(null as varchar) as {{ column }}{{ "," if not loop.last }}
            {%- endfor %}
        where false
    {%- endif -%}
{% endmacro %}
