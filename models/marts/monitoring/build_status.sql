-- depends_on: {{ source('ops', 'build_log') }}
{{ config(materialized='view') }}

{#- A view on the build log, so it is current whenever it is read. The serving file holds the same
    select, written by each build to the status file beside it (macros/ops/serving.sql). -#}
{{ build_status_sql(build_log_relation()) }}
