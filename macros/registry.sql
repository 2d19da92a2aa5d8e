{% macro latest_version_metric_rows(registry, json_path, value_type) -%}
    {#- One row per element of the JSON array at `json_path` in the metrics of the newest version of a
        model registry (a relation or CTE name): task, model, metric, value (read as `value_type`),
        model_version and as_of_date. -#}
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
