{#-
    The customers the recommender ranks items for at each as-of date, with their segment: one row per
    snapshot and customer (by its key, int_recommendation_customer_keys). 'current' holds every segmented
    customer; the past snapshots, which only train and backtest the blends, a seeded sample of var
    recommendation_sample_customers customers (hash of the customer id, customer_sample_key: the first
    of the order whose leading share the feature models keep at the past dates, so this sample lies
    inside theirs). is_adoption_sample marks the same
    seeded sample in every snapshot: the customers category adoption is counted on (the rates are per
    category, so a sample is plenty and the cost stays flat as customers grow).

    Customers are grouped by their current segment at every snapshot.
-#}
{%- set sample_customers = var('recommendation_sample_customers') | int -%}
with

customers_features as (
    select * from {{ ref('int_customers_features') }}
),

segment_assignments as (
    select * from {{ ref('segmentation_model_assignments') }}
),

customer_keys as (
    select * from {{ ref('int_recommendation_customer_keys') }}
),

ranked as (
    select
        {{ snapshot_key("customers_features.snapshot_name") }} as snapshot_name,
        customer_keys.customer_key,
        segment_assignments.segment_id,
        row_number() over (
            partition by customers_features.snapshot_name
            order by
                {{ sample_hash(customer_sample_key('customers_features.customer_id')) }},
                customers_features.customer_id
        ) as sample_rank
    from customers_features
    inner join segment_assignments
        on customers_features.customer_id = segment_assignments.customer_id
    inner join customer_keys
        on customers_features.customer_id = customer_keys.customer_id
),

final as (
    select
        snapshot_name,
        customer_key,
        segment_id,
        sample_rank <= {{ sample_customers }} as is_adoption_sample
    from ranked
    where snapshot_name = 'current' or sample_rank <= {{ sample_customers }}
)

select * from final
