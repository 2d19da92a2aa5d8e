{% macro latest_version_metric_rows(registry, json_path, value_type) -%}
    {#- One row per element of the JSON array at `json_path` in the metrics of the newest version of a
        model registry (a relation or CTE name): task, model, metric, value (read as `value_type`: DOUBLE,
        or JSON for the value's JSON text), model_version and as_of_date. -#}
    {{ return(adapter.dispatch('latest_version_metric_rows', 'customer_segmentation')(registry, json_path, value_type)) }}
{%- endmacro %}

{% macro default__latest_version_metric_rows(registry, json_path, value_type) -%}
    select
        metric_row.task,
        metric_row.model,
        metric_row.metric,
        metric_row.value,
        model_version,
        as_of_date
    from (
        select
            model_version,
            as_of_date,
            unnest(
                from_json(
                    json_extract(metrics, '{{ json_path }}'),
                    '[{"task": "VARCHAR", "model": "VARCHAR", "metric": "VARCHAR", "value": "{{ value_type }}"}]'
                )
            ) as metric_row
        from {{ registry }}
        qualify version_number = max(version_number) over ()
    )
{%- endmacro %}

{% macro spark__latest_version_metric_rows(registry, json_path, value_type) -%}
    {#- Spark reads the JSON with from_json (a JSON value as its text: a string field), and has no
        qualify. -#}
    {%- set spark_value_type = {'DOUBLE': 'double', 'JSON': 'string'}[value_type] -%}
    select
        metric_row.task,
        metric_row.model,
        metric_row.metric,
        metric_row.value,
        model_version,
        as_of_date
    from (
        select
            model_version,
            as_of_date,
            explode(
                from_json(
                    get_json_object(metrics, '{{ json_path }}'),
                    'array<struct<task: string, model: string, metric: string, value: {{ spark_value_type }}>>'
                )
            ) as metric_row
        from (
            select
                *,
                max(version_number) over () as latest_version_number
            from {{ registry }}
        ) as versions
        where version_number = latest_version_number
    ) as metric_rows
{%- endmacro %}
