{% macro parse_timestamp(column) -%}
    {{ return(adapter.dispatch('parse_timestamp', 'customer_segmentation')(column)) }}
{%- endmacro %}

{% macro default__parse_timestamp(column) -%}
    {#- A raw timestamp text as a UTC timestamp, or null when it does not parse. Text with a time-zone
        offset or name after the time ('...T23:30:00+02:00', '...Z', '... Europe/Paris') is converted
        to UTC, whatever the session's TimeZone; text without one is taken as it stands (UTC wall time).
        Dates before 1970 parse like any other. -#}
    case
        when regexp_matches(
            trim({{ column }}),
            '\d:\d\d(:\d\d(\.\d+)?)?\s*(Z|z|[+-]\d\d(:?\d\d)?|\s[A-Za-z_]+(/[A-Za-z_+-]+)*)$'
        )
            then timezone('UTC', try_cast(trim({{ column }}) as timestamptz))
        else try_cast(trim({{ column }}) as timestamp)
    end
{%- endmacro %}
