{#-
    Every customer's segment at every as-of date a build has scored. Each build appends the rows of its
    as-of date and replaces that date's rows when it is built again (delete+insert on as_of_date), so
    replaying past dates (`dbt build --vars '{as_of_date: ...}'`) fills the history. full_refresh=false:
    `dbt build --full-refresh` never drops or rebuilds it, since past builds cannot be recomputed from
    the current tables. On Spark (parquet tables, no deletes) the same is an insert_overwrite of the
    as_of_date partition; Spark keeps a partition column last.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert' if target.type == 'duckdb' else 'insert_overwrite',
        unique_key='as_of_date',
        partition_by=none if target.type == 'duckdb' else ['as_of_date'],
        full_refresh=false,
        on_schema_change='append_new_columns',
    )
}}

with

customers_scored as (
    select * from {{ ref('int_customers_scored') }}
),

final as (
    select
        as_of_date,
        customer_id,
        segment_id,
        segment_name,
        rfm_segment,
        monetary,
        churn_risk,
        predicted_ltv,
        model_version,
        scored_at
    from customers_scored
)

select * from final
