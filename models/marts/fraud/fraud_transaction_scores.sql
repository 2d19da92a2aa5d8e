with

fraud_model_transaction_scores as (
    select * from {{ ref('fraud_model_transaction_scores') }}
),

transactions_risk as (
    select * from {{ ref('int_transactions_risk') }}
),

final as (
    select
        fraud_model_transaction_scores.transaction_id,
        fraud_model_transaction_scores.customer_id,
        transactions_risk.transacted_at,
        transactions_risk.amount,
        transactions_risk.status,
        fraud_model_transaction_scores.fraud_score,
        fraud_model_transaction_scores.is_flagged,
        fraud_model_transaction_scores.top_reasons,
        fraud_model_transaction_scores.anomaly_score,
        fraud_model_transaction_scores.supervised_score,
        fraud_model_transaction_scores.rule_velocity,
        fraud_model_transaction_scores.rule_shared_device,
        fraud_model_transaction_scores.rule_new_device_foreign_ip,
        fraud_model_transaction_scores.rule_chargeback_history,
        fraud_model_transaction_scores.rule_amount_spike,
        fraud_model_transaction_scores.model_version,
        {{ build_started_at() }} as scored_at
    from fraud_model_transaction_scores
    inner join transactions_risk
        on fraud_model_transaction_scores.transaction_id = transactions_risk.transaction_id
)

select * from final
