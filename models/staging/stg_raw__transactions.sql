{#- An empty or all-rejected transactions file leaves nothing to segment or score: stop here, naming the
    file, rather than further down. base_raw__transactions, transactions_rejected and data_quality still
    build, so the reasons stay visible. -#}
{%- if execute -%}
{%- set base = ref('base_raw__transactions') -%}
{%- if adapter.get_relation(base.database, base.schema, base.identifier) is not none -%}
{%- set counted = run_query(
    'select count(*), count(*) filter (where rejection_reason is null) from ' ~ base).rows[0] -%}
{%- if counted[0] == 0 -%}
{{ exceptions.raise_compiler_error(
    "No transactions to build on: " ~ find_raw_file('transactions') ~ " has no data rows (an empty file,"
    ~ " or a header only). The build needs the transactions the data contract describes.") }}
{%- elif counted[1] == 0 -%}
{{ exceptions.raise_compiler_error(
    "No transactions to build on: all " ~ counted[0] ~ " rows of " ~ find_raw_file('transactions')
    ~ " were rejected. Their reasons are in staging.transactions_rejected and marts.data_quality.") }}
{%- endif -%}
{%- endif -%}
{%- endif %}
with

base_transactions as (
    select * from {{ ref('base_raw__transactions') }}
),

final as (
    select
        parsed_transaction_id as transaction_id,
        parsed_customer_id as customer_id,
        parsed_transacted_at as transacted_at,
        parsed_amount as amount,
        parsed_quantity as quantity,
        parsed_status as status,
        parsed_status = 'completed' as is_purchase,
        parsed_payment_method as payment_method,
        parsed_device_id as device_id,
        parsed_ip_country as ip_country,
        parsed_channel as channel,
        source_file
    from base_transactions
    where rejection_reason is null
)

select * from final
