{#-
    Model contracts on every adapter. The contracts (data_type in the models' yml) state DuckDB's type
    names, and DuckDB enforces them as they are. dbt checks a contract by casting null to each stated
    type on the adapter and comparing the columns that gives with the model's (get_empty_schema_sql, a
    dbt macro dispatched by adapter). On Spark the names DuckDB and Spark spell differently are
    translated first, through the same macros the models' SQL uses (types.sql): varchar is Spark's
    string, hugeint its decimal(38, 0); bigint, double, boolean, date, timestamp and decimal(p, s) are
    the same on both. So one contract holds on both engines, and a model whose Spark SQL gives another
    type (an int where the contract says bigint, a decimal where it says double) stops the Spark build
    as it would stop DuckDB's.
-#}

{% macro contract_type(data_type) -%}
    {#- The adapter's spelling of a contract's (DuckDB) type name. -#}
    {%- set translated = {'varchar': text_type(), 'hugeint': wide_integer_type()} -%}
    {{ return(translated.get((data_type or '') | trim | lower, data_type)) }}
{%- endmacro %}

{% macro spark__get_empty_schema_sql(columns) -%}
    {%- set translated = {} -%}
    {%- for name, column in columns.items() -%}
        {%- do translated.update({name: dict(column, data_type=contract_type(column.get('data_type')))}) -%}
    {%- endfor -%}
    {{ dbt.default__get_empty_schema_sql(translated) }}
{%- endmacro %}
