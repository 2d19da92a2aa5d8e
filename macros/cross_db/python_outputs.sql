{#-
    The Python models' tables on an engine that cannot run them in the build (dbt-spark's session
    method; docs/scaling.md, "The marts on Spark"). With var python_model_outputs_path set, this
    on-run-start hook loads <folder>/<model>.parquet into the model's own relation (ml.<model>) for every
    Python model that a selected node reads, so the SQL downstream of the Python models (the marts,
    selector sql_marts) builds on that engine from the tables the Python models wrote elsewhere: a
    DuckDB build of this project (COPY ml.<model> TO '<folder>/<model>.parquet'), or the same models run
    as Databricks jobs (where dbt runs them in the build and this var stays unset). A Python model that a
    selected node reads and the folder lacks stops the build with a message naming it.
-#}
{% macro load_python_model_outputs() %}
    {%- set folder = var('python_model_outputs_path', none) -%}
    {%- if execute and folder is not none and flags.WHICH in ['build', 'run'] -%}
        {%- do adapter.dispatch('load_python_model_outputs', 'customer_segmentation')(folder | string | trim) -%}
    {%- endif -%}
{% endmacro %}

{% macro default__load_python_model_outputs(folder) %}
    {{ exceptions.raise_compiler_error(
        "var python_model_outputs_path is for engines that cannot run the Python models (the spark"
        ~ " target); on " ~ target.type ~ " they run in the build: leave it unset.") }}
{% endmacro %}

{% macro python_models_read(selected) %}
    {#- The Python model nodes that a node of `selected` (unique ids) reads and that are not selected
        themselves, by name. -#}
    {%- set read = {} -%}
    {%- for unique_id in selected -%}
        {%- for parent_id in graph.nodes.get(unique_id, {}).get('depends_on', {}).get('nodes', []) -%}
            {%- set parent = graph.nodes.get(parent_id) -%}
            {%- if parent and parent.get('language') == 'python' and parent_id not in selected -%}
                {%- do read.update({parent.name: parent}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(read) }}
{% endmacro %}

{% macro spark__load_python_model_outputs(folder) %}
    {%- set needed = python_models_read(selected_resources) -%}
    {%- set listed = run_query('select path from binaryFile.`' ~ folder.rstrip('/') | replace('`', '``') ~ '`') -%}
    {%- set files = {} -%}
    {%- for row in listed.rows -%}
        {%- set path = row[0][5:] if row[0].startswith('file:/') else row[0] -%}
        {%- do files.update({path.split('/')[-1]: path}) -%}
    {%- endfor -%}
    {%- set missing = [] -%}
    {%- for name in needed.keys() | sort if (name ~ '.parquet') not in files -%}
        {%- do missing.append(name) -%}
    {%- endfor -%}
    {%- if missing -%}
        {{ exceptions.raise_compiler_error(
            "var python_model_outputs_path (" ~ folder ~ ") lacks the tables of the Python models "
            ~ missing | join(', ') ~ ", which the selected models read: write each as <model>.parquet there"
            ~ " (from a DuckDB build: COPY ml.<model> TO '<folder>/<model>.parquet'), or build on DuckDB.") }}
    {%- endif -%}
    {%- for name, node in needed.items() | sort -%}
        {%- set source = 'parquet.`' ~ files[name ~ '.parquet'] | replace('`', '``') ~ '`' -%}
        {#- DuckDB writes its timestamps (no time zone) as parquet's local timestamps, which Spark reads as
            timestamp_ntz; the models' timestamps are UTC, which is what Spark's timestamp holds in the
            project's UTC session. -#}
        {%- set columns = [] -%}
        {%- for column in run_query('describe query select * from ' ~ source).rows -%}
            {%- set quoted = '`' ~ column[0] | replace('`', '``') ~ '`' -%}
            {%- if column[1] | lower == 'timestamp_ntz' -%}
                {%- do columns.append('cast(' ~ quoted ~ ' as timestamp) as ' ~ quoted) -%}
            {%- else -%}
                {%- do columns.append(quoted) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set relation = api.Relation.create(schema=node.schema, identifier=node.alias, type='table') -%}
        {%- do log('Loading ' ~ relation ~ ' from ' ~ files[name ~ '.parquet'], info=true) -%}
        {%- do run_query('create schema if not exists ' ~ node.schema) -%}
        {%- do run_query('drop table if exists ' ~ relation) -%}
        {%- do run_query('create table ' ~ relation ~ ' using parquet as select ' ~ columns | join(', ') ~ ' from ' ~ source) -%}
    {%- endfor -%}
{% endmacro %}
