{#- Rows read, accepted and rejected for each raw table of the data contract, with the reject reasons, all
    counted on base_raw__<table> (every row read, with its verdict). That they match stg_raw__<table> and
    <table>_rejected is the rows_reconcile test on each base model; this report reads neither, so it
    still builds when a rejects table's reject_share_below test fails, or when stg_raw__transactions
    stops the build because every row was rejected. -#}
{%- set tables = raw_contract().keys() | list -%}
with

raw_rows as (
    {%- for table in tables %}
    select
        '{{ table }}' as table_name,
        rejection_reason,
        source_file
    from {{ ref('base_raw__' ~ table) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

contract_tables as (
    -- Each table of the contract and the file found for it (null when absent), so a present file with
    -- no rows (header only, or empty) is still present.
    {%- for table in tables %}
    {%- set raw_file = find_raw_file(table) if execute else none %}
    select
        '{{ table }}' as table_name,
        cast({{ sql_string(raw_file) if raw_file is not none else 'null' }} as {{ text_type() }}) as raw_file
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

counted as (
    select
        table_name,
        count(*) as rows_read,
        count(*) filter (where rejection_reason is null) as rows_accepted,
        count(*) filter (where rejection_reason is not null) as rows_rejected,
        max(source_file) as source_file
    from raw_rows
    group by table_name
),

reasons as (
    select
        table_name,
        rejection_reason,
        count(*) as rows_rejected
    from raw_rows
    where rejection_reason is not null
    group by table_name, rejection_reason
),

summarised as (
    select
        table_name,
        {{ ordered_string_agg(
            "rejection_reason || ': ' || rows_rejected", "'; '", 'rows_rejected desc, rejection_reason asc'
        ) }} as rejection_summary
    from reasons
    group by table_name
),

final as (
    select
        contract_tables.table_name,
        contract_tables.raw_file is not null as is_present,
        coalesce(counted.source_file, contract_tables.raw_file) as source_file,
        coalesce(counted.rows_read, 0) as rows_read,
        coalesce(counted.rows_accepted, 0) as rows_accepted,
        coalesce(counted.rows_rejected, 0) as rows_rejected,
        counted.rows_rejected / nullif(counted.rows_read, 0) as reject_share,
        summarised.rejection_summary
    from contract_tables
    left join counted
        on contract_tables.table_name = counted.table_name
    left join summarised
        on contract_tables.table_name = summarised.table_name
)

select * from final
