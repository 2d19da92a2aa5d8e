{#- Size, share and value of each segment at each as-of date of the history. -#}
with

segment_history as (
    select * from {{ ref('segment_history') }}
),

per_segment as (
    select
        as_of_date,
        segment_id,
        segment_name,
        count(*) as customers,
        cast(sum({{ exact('predicted_ltv') }}) as double) as predicted_ltv,
        sum(monetary) as monetary,
        {{ exact_mean('churn_risk') }} as average_churn_risk,
        min(model_version) as model_version
    from segment_history
    group by as_of_date, segment_id, segment_name
),

final as (
    select
        as_of_date,
        segment_id,
        segment_name,
        customers,
        customers / sum(customers) over (partition by as_of_date) as share_of_customers,
        predicted_ltv,
        monetary,
        average_churn_risk,
        model_version
    from per_segment
)

select * from final
