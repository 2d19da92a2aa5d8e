{#-
    How the raw files are found and read on each engine (macros/raw/load_raw.sql holds the rules; see
    types.sql for how these dispatch). DuckDB reads the files itself (read_parquet, read_csv, glob). On
    Spark a parquet file is queried in place (parquet.`path`), and the folder is listed through Spark's
    binaryFile source (names only: the file contents are never read). Spark reads parquet only: DuckDB's
    CSV reader keeps every unreadable line with its reason, which Spark's does not, so a CSV raw file
    stops a Spark build with a message that says to convert it.
-#}

{% macro parquet_relation(path, row_numbers=false) -%}
    {#- A from-clause item reading the parquet file at path; with row_numbers, parquet_row_index()
        gives each row's 0-based index in the file. -#}
    {{ return(adapter.dispatch('parquet_relation', 'customer_segmentation')(path, row_numbers)) }}
{%- endmacro %}

{% macro default__parquet_relation(path, row_numbers) -%}
    read_parquet({{ glob_literal(path) }}{{ ', file_row_number = true' if row_numbers }})
{%- endmacro %}

{% macro spark__parquet_relation(path, row_numbers) -%}
    parquet.`{{ path | replace('`', '``') }}`
{%- endmacro %}

{% macro parquet_row_index() -%}
    {{ return(adapter.dispatch('parquet_row_index', 'customer_segmentation')()) }}
{%- endmacro %}

{% macro default__parquet_row_index() -%}file_row_number{%- endmacro %}

{% macro spark__parquet_row_index() -%}_metadata.row_index{%- endmacro %}

{% macro find_raw_file(table_name) %}
    {#- Returns the path of <table>.parquet or <table>.csv in the raw folder, or none. -#}
    {{ return(adapter.dispatch('find_raw_file', 'customer_segmentation')(table_name)) }}
{% endmacro %}

{% macro spark__find_raw_file(table_name) %}
    {%- set folder = raw_data_folder().rstrip('/') -%}
    {%- set listed = run_query('select path from binaryFile.`' ~ folder | replace('`', '``') ~ '`') -%}
    {%- set paths = {} -%}
    {%- for row in listed.rows -%}
        {#- Local files come back as file:/path; other file systems (dbfs:, s3:, abfss:) keep their scheme. -#}
        {%- set path = row[0][5:] if row[0].startswith('file:/') else row[0] -%}
        {%- do paths.update({path.split('/')[-1]: path}) -%}
    {%- endfor -%}
    {%- if (table_name ~ '.parquet') in paths -%}
        {{ return(paths[table_name ~ '.parquet']) }}
    {%- elif (table_name ~ '.csv') in paths -%}
        {{ exceptions.raise_compiler_error(
            "On Spark the raw tables are read from parquet: convert " ~ paths[table_name ~ '.csv']
            ~ " to " ~ table_name ~ ".parquet (for example with DuckDB: COPY (FROM read_csv('"
            ~ table_name ~ ".csv', all_varchar = true)) TO '" ~ table_name ~ ".parquet'), or build on DuckDB,"
            ~ " whose CSV reader keeps each unreadable line with its reason.") }}
    {%- endif -%}
    {{ return(none) }}
{% endmacro %}

{% macro drop_raw_read(table_name) -%}
    {#- Post-hook of each base_raw__ model (see default__drop_raw_read in load_raw.sql). Spark keeps no
        temporary tables of the scan: nothing to drop. -#}
    {{ return(adapter.dispatch('drop_raw_read', 'customer_segmentation')(table_name)) }}
{%- endmacro %}

{% macro spark__drop_raw_read(table_name) -%}{%- endmacro %}

{% macro load_ground_truth(name, columns) %}
    {#- The demo generator's ground truth (see default__load_ground_truth in load_raw.sql). -#}
    {{ return(adapter.dispatch('load_ground_truth', 'customer_segmentation')(name, columns)) }}
{% endmacro %}

{% macro spark__load_ground_truth(name, columns) %}
    {#- Only the evaluation models read the ground truth, and they follow the Python models, which run on
        DuckDB: on Spark it is empty (listing an absent _truth/ folder would stop the build). -#}
    select
        {%- for column in columns %}
        cast(null as string) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    where false
{% endmacro %}
