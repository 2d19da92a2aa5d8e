with

fraud_model_customer_scores as (
    select * from {{ ref('fraud_model_customer_scores') }}
),

final as (
    select
        customer_id,
        fraud_score,
        is_flagged,
        top_reasons,
        n_transactions as transactions,
        n_flagged as flagged_transactions,
        model_version,
        {{ build_started_at() }} as scored_at
    from fraud_model_customer_scores
)

select * from final
