{#-
    load_raw(table_name): a select of one raw table with every contract column as text, plus
    source_file, source_row_number, and, for a row the CSV reader could not read, read_problem,
    source_line_number and source_line, whatever the file holds.

    - The folder is var('raw_data_path'), or var('demo_data_path') when that is unset.
    - <table>.parquet is preferred over <table>.csv when both exist.
    - A missing optional table gives an empty select with the same columns; a missing optional column
      gives nulls. A missing required table or column stops the build with a message that names it
      (except under `dbt docs generate`, which documents the project with no data at all).
    - Values stay text here: staging parses them and rejects what does not parse, keeping the raw text.
    - CSV files are read in var('raw_file_encoding') (utf-8, utf-16 or latin-1). The delimiter (comma,
      semicolon, tab or bar) is taken from the header line, never guessed from the rows, so garbage in
      the rows cannot change how the good rows are split. A row the reader cannot read (bytes that are not
      text in the encoding, more or fewer fields than the header, broken quoting) is not an error: it is
      kept as a row with read_problem set, its line number and its text, and staging rejects it with that
      reason while the rest builds.
    - DuckDB keeps the reader's rejects in temporary tables of the connection that ran the scan. dbt-duckdb
      compiles and runs a model on one connection, so the scan runs here, at compile time, into a
      temporary table, and the model's statement reads that table and the rejects of the same scan.
-#}
{% macro raw_data_folder() %}
    {%- set folder = var('raw_data_path', none) -%}
    {%- if folder is none or folder | string | trim == '' -%}
        {%- set folder = var('demo_data_path') -%}
    {%- endif -%}
    {{ return(folder | string | trim) }}
{% endmacro %}

{% macro sql_string(value) -%}
    {#- A SQL string literal holding value: quotes doubled, so no value can end the literal early. -#}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{% macro glob_literal(path) -%}
    {#- A path as a DuckDB glob pattern that matches only itself: *, ? and [ stand for themselves. -#}
    {{ sql_string(path | string | replace('[', '[[]') | replace('*', '[*]') | replace('?', '[?]')) }}
{%- endmacro %}

{% macro raw_file_encoding() %}
    {#- var('raw_file_encoding') as DuckDB's read_csv names it; stops on an encoding it cannot read. -#}
    {%- set names = {
        'utf-8': 'utf-8', 'utf8': 'utf-8',
        'utf-16': 'utf-16', 'utf16': 'utf-16',
        'latin-1': 'latin-1', 'latin1': 'latin-1', 'iso-8859-1': 'latin-1', 'iso8859-1': 'latin-1',
    } -%}
    {%- set asked = var('raw_file_encoding', 'utf-8') | string | trim | lower -%}
    {%- if asked not in names -%}
        {{ exceptions.raise_compiler_error(
            "var raw_file_encoding must be utf-8, utf-16 or latin-1 (the encodings DuckDB reads without"
            ~ " extensions), got '" ~ var('raw_file_encoding') ~ "'. Convert the files to UTF-8 first"
            ~ " (for example: iconv -f CP1252 -t UTF-8 in.csv > out.csv).") }}
    {%- endif -%}
    {{ return(names[asked]) }}
{% endmacro %}

{% macro default__find_raw_file(table_name) %}
    {#- find_raw_file() (macros/cross_db/raw_files.sql) on DuckDB: globs the raw folder. -#}
    {%- set folder = raw_data_folder().rstrip('/') -%}
    {%- for extension in ['parquet', 'csv'] -%}
        {%- set pattern = folder ~ '/' ~ table_name ~ '.' ~ extension -%}
        {%- set found = run_query('select file from glob(' ~ glob_literal(pattern) ~ ')') -%}
        {%- if found.rows | length > 0 -%}
            {{ return(found.rows[0][0]) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{% endmacro %}

{% macro raw_csv_header(path) %}
    {#- The header of a CSV file: {'columns': names in order, 'delimiter': ..., 'is_empty': bool}. The
        first line is read whole (no delimiter, no quoting); the delimiter is the candidate that splits
        it into the most contract column names (comma on a tie). Stops, naming the file, when the first
        line is not text in the encoding. -#}
    {%- set encoding = raw_file_encoding() -%}
    {%- do run_query('drop table if exists raw_header_rejects; drop table if exists raw_header_scans') -%}
    {%- set first = run_query(
        'select line from read_csv(' ~ glob_literal(path) ~ ", header = false, auto_detect = false,"
        ~ " columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '', escape = '', strict_mode = false,"
        ~ " encoding = " ~ sql_string(encoding) ~ ", store_rejects = true,"
        ~ " rejects_table = 'raw_header_rejects', rejects_scan = 'raw_header_scans') limit 1") -%}
    {%- set header_rejected = run_query('select count(*) from raw_header_rejects where line = 1').rows[0][0] -%}
    {%- if header_rejected > 0 -%}
        {{ exceptions.raise_compiler_error(
            "Unreadable header in " ~ path ~ ": its first line is not " ~ encoding ~ " text. Set the var"
            ~ " raw_file_encoding to the file's encoding (utf-8, utf-16 or latin-1), or convert the file"
            ~ " to UTF-8.") }}
    {%- endif -%}
    {%- if first.rows | length == 0 -%}
        {{ return({'columns': [], 'delimiter': ',', 'is_empty': true}) }}
    {%- endif -%}
    {%- set line = (first.rows[0][0] or '') | replace('\ufeff', '') | replace('\r', '') -%}
    {%- set contract_columns = [] -%}
    {%- for spec in raw_contract().values() -%}
        {%- do contract_columns.extend(spec['columns']) -%}
    {%- endfor -%}
    {%- set best = {'delimiter': ',', 'score': -1} -%}
    {%- for delimiter in [',', ';', '\t', '|'] -%}
        {%- set score = [] -%}
        {%- for field in line.split(delimiter) -%}
            {%- if field | trim | trim('"') | trim in contract_columns -%}{%- do score.append(1) -%}{%- endif -%}
        {%- endfor -%}
        {%- if score | length > best['score'] -%}
            {%- do best.update({'delimiter': delimiter, 'score': score | length}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set columns = [] -%}
    {%- for field in line.split(best['delimiter']) -%}
        {%- set name = field | trim | trim('"') | trim -%}
        {%- if name == '' or name in columns -%}
            {%- set name = 'column' ~ loop.index -%}
        {%- endif -%}
        {%- do columns.append(name) -%}
    {%- endfor -%}
    {{ return({'columns': columns, 'delimiter': best['delimiter'], 'is_empty': false}) }}
{% endmacro %}

{% macro raw_file_columns(path) %}
    {#- The column names of a raw file (CSV: from its header; parquet: from its schema). -#}
    {%- if path.endswith('.parquet') -%}
        {%- set described = run_query('describe select * from ' ~ parquet_relation(path)) -%}
        {{ return(described.columns[0].values() | list) }}
    {%- endif -%}
    {{ return(raw_csv_header(path)['columns']) }}
{% endmacro %}

{% macro empty_raw_select(table_name, source_file=none) %}
    select
        {%- for column in raw_contract()[table_name]['columns'] %}
        cast(null as {{ text_type() }}) as {{ column }},
        {%- endfor %}
        cast({{ sql_string(source_file) if source_file is not none else 'null' }} as {{ text_type() }}) as source_file,
        cast(null as bigint) as source_row_number,
        cast(null as {{ text_type() }}) as read_problem,
        cast(null as bigint) as source_line_number,
        cast(null as {{ text_type() }}) as source_line
    where false
{% endmacro %}

{% macro raw_read_problem(error_type, encoding) -%}
    {#- The reason for a row DuckDB's CSV reader rejected, from its error type. -#}
    case {{ error_type }}
        when 'INVALID ENCODING'
            then 'undecodable line: not {{ encoding }} text (see the var raw_file_encoding)'
        when 'TOO MANY COLUMNS' then 'unreadable line: more fields than the header'
        when 'MISSING COLUMNS' then 'unreadable line: fewer fields than the header'
        when 'UNQUOTED VALUE' then 'unreadable line: a quote inside an unquoted field'
        when 'LINE SIZE OVER MAXIMUM' then 'unreadable line: longer than the reader allows'
        else 'unreadable line: ' || lower({{ error_type }})
    end
{%- endmacro %}

{% macro load_raw_csv(table_name, path) %}
    {%- set spec = raw_contract()[table_name] -%}
    {%- set encoding = raw_file_encoding() -%}
    {%- set header = raw_csv_header(path) -%}
    {%- if header['is_empty'] -%}
        {{ return(empty_raw_select(table_name, path)) }}
    {%- endif -%}
    {%- set present = header['columns'] -%}
    {%- do check_required_columns(table_name, path, present) -%}
    {%- set read_table = 'raw_read__' ~ table_name -%}
    {%- set rejects_table = 'raw_rejects__' ~ table_name -%}
    {%- set scans_table = 'raw_scans__' ~ table_name -%}
    {%- do run_query('drop table if exists ' ~ rejects_table ~ '; drop table if exists ' ~ scans_table) -%}
    {#- The reader never stops on a malformed row: strict_mode = false (strict mode stops the whole scan
        on a carriage return that does not match the file's line ends), null_padding pads a short row,
        parallel = false (the parallel reader cannot pad rows whose quoted fields hold newlines; this
        one is as fast as the sniffing reader it replaces). One extra column catches a row with more
        fields than the header, and nullstr = chr(2) keeps an empty field ('') apart from a padded one
        (null), so both are rejected, never cut or padded silently. -#}
    {%- do run_query(
        'create or replace temporary table ' ~ read_table ~ ' as select *, row_number() over () as'
        ~ ' reader_row_number from read_csv(' ~ glob_literal(path) ~ ', header = true, auto_detect = false,'
        ~ ' columns = {' ~ raw_columns_struct(present + ['raw_overflow__']) ~ '}, delim = '
        ~ sql_string(header['delimiter']) ~ ", quote = '\"', escape = '\"', strict_mode = false,"
        ~ ' null_padding = true, parallel = false, nullstr = chr(2), encoding = ' ~ sql_string(encoding)
        ~ ', store_rejects = true, rejects_table = ' ~ sql_string(rejects_table)
        ~ ', rejects_scan = ' ~ sql_string(scans_table) ~ ')') -%}
    {%- set reader_rejects = run_query('select count(*) from ' ~ rejects_table).rows[0][0] -%}
    with

    read_rows as (
        select
            {{ raw_text_columns(table_name, present) }}
            case
                when raw_overflow__ is not null then 'unreadable line: more fields than the header'
                when {{ adapter.quote(present[-1]) }} is null
                    then 'unreadable line: fewer fields than the header'
            end as read_problem,
            reader_row_number
        from {{ read_table }}
    ),

    {%- if reader_rejects == 0 %}

    numbered as (
        select
            *,
            reader_row_number as source_row_number,
            cast(null as bigint) as source_line_number,
            cast(null as varchar) as source_line
        from read_rows
    ),
    {%- else %}

    rejected_lines as (
        -- One row per line the reader rejected (it may report several errors for one line).
        select
            line as source_line_number,
            string_agg(
                distinct {{ raw_read_problem('error_type', encoding) }}, '; '
                order by {{ raw_read_problem('error_type', encoding) }}
            ) as read_problem,
            min(csv_line) as source_line
        from {{ rejects_table }}
        group by line
    ),

    rejected_placed as (
        -- A rejected line's row number, counting each row as one line (exact unless quoted fields
        -- before it hold newlines), and how many rows the reader kept before it.
        select
            *,
            source_line_number - 1 as source_row_number,
            source_line_number - 1 - row_number() over (order by source_line_number) as rows_kept_before
        from rejected_lines
    ),

    shifts as (
        select
            rows_kept_before + 1 as from_reader_row_number,
            max(rejects_so_far) as rejected_before
        from (
            select
                rows_kept_before,
                row_number() over (order by source_line_number) as rejects_so_far
            from rejected_placed
        )
        group by rows_kept_before
    ),

    numbered as (
        select
            read_rows.*,
            read_rows.reader_row_number + coalesce(shifts.rejected_before, 0) as source_row_number,
            cast(null as bigint) as source_line_number,
            cast(null as varchar) as source_line
        from read_rows
        asof left join shifts
            on read_rows.reader_row_number >= shifts.from_reader_row_number
        union all
        select
            {%- for column in spec['columns'] %}
            cast(null as varchar) as {{ column }},
            {%- endfor %}
            read_problem,
            cast(null as bigint) as reader_row_number,
            source_row_number,
            source_line_number,
            source_line
        from rejected_placed
    ),
    {%- endif %}

    final as (
        select
            {%- for column in spec['columns'] %}
            {{ column }},
            {%- endfor %}
            {{ sql_string(path) }} as source_file,
            cast(source_row_number as bigint) as source_row_number,
            read_problem,
            cast(source_line_number as bigint) as source_line_number,
            source_line
        from numbered
    )

    select * from final
{% endmacro %}

{% macro raw_columns_struct(names) -%}
    {#- The columns argument of read_csv: every name as text. -#}
    {%- for name in names -%}
        {{ sql_string(name) }}: 'VARCHAR'{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{% macro check_required_columns(table_name, path, present) %}
    {#- Stops the build, naming the file and what it holds, when a required contract column is absent. -#}
    {%- for column in raw_contract()[table_name]['required_columns'] -%}
        {%- if column not in present -%}
            {{ exceptions.raise_compiler_error(
                "Required column missing: '" ~ column ~ "' is not in " ~ path
                ~ " (columns found: " ~ present | join(', ') ~ ").") }}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}

{% macro raw_text_columns(table_name, present) -%}
    {#- Every contract column of the table as text, in contract order (null when the file lacks it), each
        followed by a comma. -#}
    {%- for column in raw_contract()[table_name]['columns'] %}
    {%- if column in present %}
    cast({{ adapter.quote(column) }} as {{ text_type() }}) as {{ column }},
    {%- else %}
    cast(null as {{ text_type() }}) as {{ column }},
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{% macro load_raw(table_name) %}
    {%- set spec = raw_contract()[table_name] -%}
    {%- if not execute -%}
        {#- Parsing: only the shape matters. -#}
        {{ empty_raw_select(table_name) }}
    {%- else -%}
        {%- set path = find_raw_file(table_name) -%}
        {#- dbt docs generate documents the project without reading data: a missing file is no error there. -#}
        {%- if path is none and spec['required'] and flags.WHICH != 'generate' -%}
            {{ exceptions.raise_compiler_error(
                "Required raw file missing: " ~ table_name ~ ".csv or " ~ table_name ~ ".parquet not found in '"
                ~ raw_data_folder() ~ "'. Set the var raw_data_path to a folder laid out as the data contract says"
                ~ " (or run `make demo` to generate the demo data).") }}
        {%- endif -%}
        {%- if path is none -%}
            {{ empty_raw_select(table_name) }}
        {%- elif path.endswith('.csv') -%}
            {{ load_raw_csv(table_name, path) }}
        {%- else -%}
            {%- set present = raw_file_columns(path) -%}
            {%- do check_required_columns(table_name, path, present) -%}
            select
                {{ raw_text_columns(table_name, present) }}
                {%- for column in raw_typed_columns(table_name) %}
                {{ adapter.quote(column) }} as {{ typed_raw_column(column) }},
                {%- endfor %}
                {{ sql_string(path) }} as source_file,
                {#- The reader's own row index, not row_number() over (): a window over a whole table
                    holds it in memory, and 22 M events at 1,000,000 customers ran out of DuckDB's 4 GB. -#}
                {{ parquet_row_index() }} + 1 as source_row_number,
                cast(null as {{ text_type() }}) as read_problem,
                cast(null as bigint) as source_line_number,
                cast(null as {{ text_type() }}) as source_line
            from {{ parquet_relation(path, row_numbers=true) }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}

{% macro raw_column_present(table_name, column) %}
    {#- True when the raw file of table_name exists and has the column (false at parse time). -#}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set path = find_raw_file(table_name) -%}
    {%- if path is none -%}{{ return(false) }}{%- endif -%}
    {{ return(column in raw_file_columns(path)) }}
{% endmacro %}

{% macro default__load_ground_truth(name, columns) %}
    {#- load_ground_truth() (macros/cross_db/raw_files.sql) on DuckDB: the demo generator's ground truth (<raw folder>/_truth/<name>.parquet) when the raw folder has
        it, else an empty select with the same columns (as text). Only evaluation models read it: the
        pipeline's features and models never do. -#}
    {%- set path = raw_data_folder().rstrip('/') ~ '/_truth/' ~ name ~ '.parquet' -%}
    {%- set found = execute and (run_query('select file from glob(' ~ glob_literal(path) ~ ')').rows | length) > 0 -%}
    {%- if found -%}
        select
            {%- for column in columns %}
            cast({{ adapter.quote(column) }} as varchar) as {{ column }}{{ "," if not loop.last }}
            {%- endfor %}
        from read_parquet({{ glob_literal(path) }})
    {%- else -%}
        select
            {%- for column in columns %}
            cast(null as varchar) as {{ column }}{{ "," if not loop.last }}
            {%- endfor %}
        where false
    {%- endif -%}
{% endmacro %}

{% macro default__drop_raw_read(table_name) -%}
    {#- drop_raw_read() (macros/cross_db/raw_files.sql) on DuckDB: post-hook of each base_raw__ model: frees the temporary tables load_raw filled for it (the scan
        and its rejects), which would otherwise hold the whole file in memory until the connection
        closes at the end of the build. -#}
    drop table if exists temp.raw_read__{{ table_name }};
    drop table if exists temp.raw_rejects__{{ table_name }};
    drop table if exists temp.raw_scans__{{ table_name }};
    drop table if exists temp.raw_header_rejects;
    drop table if exists temp.raw_header_scans
{%- endmacro %}
