{#- Use the folder's schema name as it is (staging, intermediate, marts, reference) rather than dbt's
    default <target>_<custom>, so BI tools read stable names such as marts.customer_segments. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
