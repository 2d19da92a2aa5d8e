{#-
    The wide customer feature table the Python models read: one row per customer with a transaction
    before each as-of date (at the past dates, a seeded sample of them beyond var
    past_snapshot_customers customers: in_snapshot_sample), RFM joined with spend dynamics, behaviour,
    category mix, basket composition, attributes and social links. int_feature_catalog describes every
    feature column.
-#}
{#- The feature models joined to RFM, each one row per as-of date and customer. -#}
{%- set feature_models = [
    'customers_spend', 'customers_behaviour', 'customers_category_mix', 'customers_basket',
    'customers_attributes', 'customers_social',
] -%}
with

customers_rfm as (
    select * from {{ ref('int_customers_rfm') }}
),

customers_spend as (
    select * from {{ ref('int_customers_spend') }}
),

customers_behaviour as (
    select * from {{ ref('int_customers_behaviour') }}
),

customers_category_mix as (
    select * from {{ ref('int_customers_category_mix') }}
),

customers_basket as (
    select * from {{ ref('int_customers_basket') }}
),

customers_attributes as (
    select * from {{ ref('int_customers_attributes') }}
),

customers_social as (
    select * from {{ ref('int_customers_social') }}
),

as_of_dates as (
    select * from {{ ref('int_as_of_dates') }}
),

final as (
    select
        as_of_dates.snapshot_name,
        customers_rfm.as_of_date,
        customers_rfm.customer_id,
        customers_rfm.recency_days,
        customers_rfm.tenure_days,
        customers_rfm.frequency,
        customers_rfm.purchase_days,
        customers_rfm.monetary,
        customers_rfm.gross_revenue,
        customers_rfm.net_revenue,
        customers_rfm.average_order_value,
        customers_rfm.r_score,
        customers_rfm.f_score,
        customers_rfm.m_score,
        customers_rfm.rfm_segment,
        {{ star_except('customers_spend', ['as_of_date', 'customer_id']) }},
        {{ star_except('customers_behaviour', ['as_of_date', 'customer_id']) }},
        {{ star_except('customers_category_mix', ['as_of_date', 'customer_id']) }},
        {{ star_except('customers_basket', ['as_of_date', 'customer_id']) }},
        {{ star_except('customers_attributes', ['as_of_date', 'customer_id']) }},
        {{ star_except('customers_social', ['as_of_date', 'customer_id']) }}
    from customers_rfm
    inner join as_of_dates
        on customers_rfm.as_of_date = as_of_dates.as_of_date
            and {{ in_snapshot_sample('customers_rfm.customer_id', 'as_of_dates') }}
    {%- for feature_model in feature_models %}
    left join {{ feature_model }}
        on {{ same_keys('customers_rfm', feature_model, ['as_of_date', 'customer_id']) }}
    {%- endfor %}
)

select * from final
