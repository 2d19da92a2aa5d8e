{% macro latest_version_metric_rows(registry, json_path, value_type) -%}
    {#- One row per element of the JSON array at `json_path` in the metrics of the newest version of a
        model registry (a relation or CTE name): model_version, as_of_date and metric_row, a struct of
        task, model, metric and value (read as `value_type`). -#}
    select
        model_version,
        as_of_date,
        unnest(
            from_json(
                json_extract(metrics, '{{ json_path }}'),
                '[{"task": "VARCHAR", "model": "VARCHAR", "metric": "VARCHAR", "value": "{{ value_type }}"}]'
            )
        ) as metric_row
    from (
        select *
        from {{ registry }}
        qualify version_number = max(version_number) over ()
    )
{%- endmacro %}
