{#- Where the build publishes the marts for BI tools, and where it keeps the build log. -#}

{#- The serving DuckDB file: var serving_path, else env SEGMENTATION_SERVING_PATH, else
    <warehouse stem>.serving.duckdb beside the warehouse file. Relative paths are taken from the
    directory dbt runs in, as the warehouse path is. -#}
{% macro serving_path() -%}
    {%- set chosen = var('serving_path', none) or env_var('SEGMENTATION_SERVING_PATH', '') -%}
    {%- if chosen -%}
        {{ chosen }}
    {%- else -%}
        {{ modules.re.sub('(\\.duckdb|\\.db)?$', '', target.path, count=1) ~ '.serving.duckdb' }}
    {%- endif -%}
{%- endmacro %}

{#- The build-status Parquet file beside the serving file (customer_ml.warehouse.serving.status_path). -#}
{% macro serving_status_path() -%}
    {{ modules.re.sub('(\\.[^./]*)?$', '', serving_path(), count=1) ~ '.status.parquet' }}
{%- endmacro %}

{% macro ops_schema() -%}
    {{ generate_schema_name('ops', none) }}
{%- endmacro %}

{#- ops.build_log: one row per `dbt build` / `dbt run`, written by the on-run-start and on-run-end
    hooks (not a model: it must outlive every build, failed ones included). The running build's row
    holds the serving and status paths, which ops.serving_publication reads from it. -#}
{% macro build_log_relation() -%}
    {#- target.get: a Spark target has no database (build_status only builds on DuckDB). -#}
    {{ return(api.Relation.create(database=target.get('database'), schema=ops_schema(), identifier='build_log')) }}
{%- endmacro %}

{#- Whether this invocation is a build worth logging (not `dbt test`, `dbt seed`, `dbt compile`...). -#}
{% macro is_logged_build() -%}
    {#- The build log and the serving file are DuckDB files: a build on another engine (the spark target
        of profiles.yml, docs/scaling.md) keeps neither. -#}
    {{ return(flags.WHICH in ['build', 'run'] and target.type == 'duckdb') }}
{%- endmacro %}

{#- on-run-start: log this build as running, mark builds still 'running' as interrupted (DuckDB allows
    one writer, so a build that still says running was killed), and write the status file, so readers
    of the serving file see that a build is running. -#}
{% macro log_build_start() %}
    {%- if execute and is_logged_build() %}
        {%- set log = build_log_relation() %}
        {%- call statement('log_build_start') %}
            create schema if not exists {{ log.database }}.{{ log.schema }};
            {#- The schema the incremental Python models stage their rows in (temporary_relations.sql),
                made before any model runs: two of them creating it at once conflict in DuckDB's catalog. #}
            create schema if not exists {{ log.database }}.dbt_temp;
            create table if not exists {{ log }} (
                invocation_id varchar primary key,
                command varchar,
                started_at timestamp,
                finished_at timestamp,
                build_status varchar,
                failed_nodes varchar,
                published_at timestamp,
                as_of_date date,
                serving_path varchar,
                status_path varchar
            );
            update {{ log }} set build_status = 'interrupted' where build_status = 'running';
            insert into {{ log }} (invocation_id, command, started_at, build_status, serving_path, status_path)
            values (
                '{{ invocation_id }}',
                '{{ flags.WHICH }}',
                cast(timezone('UTC', now()) as timestamp),
                'running',
                {{ sql_string(serving_path()) }},
                {{ sql_string(serving_status_path()) }}
            );
        {%- endcall %}
        {%- do adapter.commit() %}
        {%- do write_build_status() %}
    {%- endif %}
{% endmacro %}

{#- on-run-end: success when no node errored, failed or was skipped; the publication (if this build
    published) with its as-of date; then the status file. -#}
{% macro log_build_end(results) %}
    {%- if execute and is_logged_build() %}
        {%- set log = build_log_relation() %}
        {%- set failed = [] %}
        {%- for result in results if result.status in ['error', 'fail', 'skipped', 'runtime error'] %}
            {%- do failed.append(result.node.name ~ ' (' ~ result.status ~ ')') %}
        {%- endfor %}
        {%- set publication = adapter.get_relation(
            database=target.database, schema=ops_schema(), identifier='serving_publication') %}
        {%- call statement('log_build_end') %}
            update {{ log }} set
                finished_at = cast(timezone('UTC', now()) as timestamp),
                build_status = '{{ "failed" if failed else "success" }}',
                failed_nodes = {{ sql_string(failed | join(', ')) if failed else 'null' }}
            where invocation_id = '{{ invocation_id }}';
            {%- if publication is not none %}
            update {{ log }} set
                published_at = publication.published_at,
                as_of_date = publication.as_of_date
            from {{ publication }} as publication
            where {{ log }}.invocation_id = '{{ invocation_id }}'
                and publication.published_at >= {{ log }}.started_at;
            {%- endif %}
        {%- endcall %}
        {%- do adapter.commit() %}
        {%- do write_build_status() %}
    {%- endif %}
{% endmacro %}

{#- The status row (build_status_sql) to the Parquet file beside the serving file. DuckDB's COPY writes
    to tmp_<name> and renames it over the old file, so readers never see a half-written one. -#}
{% macro write_build_status() %}
    {%- call statement('write_build_status') %}
        copy ({{ build_status_sql(build_log_relation()) }})
        to {{ sql_string(serving_status_path()) }} (format parquet, use_tmp_file true)
    {%- endcall %}
{% endmacro %}

{#- The one definition of the status row, read by marts.build_status in the warehouse and written to
    the status file that the serving file's marts.build_status reads. -#}
{% macro build_status_sql(build_log) -%}
    with

    builds as (
        select * from {{ build_log }}
    ),

    latest as (
        select * from builds
        order by started_at desc
        limit 1
    ),

    published as (
        select * from builds
        where published_at is not null
        order by published_at desc
        limit 1
    ),

    latest_failure as (
        select * from builds
        where build_status in ('failed', 'interrupted')
        order by started_at desc
        limit 1
    ),

    final as (
        select
            published.as_of_date,
            published.published_at as last_published_at,
            published.finished_at as last_success_finished_at,
            latest.build_status as latest_build_status,
            latest.started_at as latest_build_started_at,
            latest.finished_at as latest_build_finished_at,
            coalesce(latest.build_status = 'running', false) as is_build_running,
            coalesce(
                latest_failure.started_at > published.started_at
                or (latest_failure.started_at is not null and published.started_at is null),
                false
            ) as has_failed_since_published,
            coalesce(latest_failure.finished_at, latest_failure.started_at) as latest_failure_at,
            latest_failure.build_status as latest_failure_status,
            latest_failure.failed_nodes as latest_failure_nodes,
            cast(timezone('UTC', now()) as timestamp) as status_at
        from (select 1) as one_row
        left join latest on true
        left join published on true
        left join latest_failure on true
    )

    select * from final
{%- endmacro %}

{#- Drops the tables incremental models keep their new rows in, when a build left them behind:
    `main.<model>__dbt_tmp<timestamp>` from builds before macros/ops/temporary_relations.sql, and
    tables in the adapter's schema dbt_temp from a build killed mid-merge. Runs at the end of a build,
    when no model is using them. -#}
{% macro drop_leftover_temp_tables() %}
    {%- if execute and is_logged_build() %}
        {%- set leftovers = run_query(
            "select schema_name, table_name from duckdb_tables()"
            ~ " where database_name = current_database() and not temporary and ("
            ~ " (schema_name = 'main' and regexp_matches(table_name, '__dbt_tmp[0-9]+$'))"
            ~ " or schema_name = 'dbt_temp')") %}
        {%- for row in leftovers.rows %}
            {%- do run_query('drop table if exists "' ~ row[0] ~ '"."' ~ row[1] ~ '"') %}
        {%- endfor %}
        {%- do adapter.commit() %}
    {%- endif %}
{% endmacro %}
