with

transaction_fraud_scores as (
    select * from {{ ref('transaction_fraud_scores') }}
),

transactions_risk as (
    select * from {{ ref('int_transactions_risk') }}
),

final as (
    select
        transaction_fraud_scores.transaction_id,
        transaction_fraud_scores.customer_id,
        transactions_risk.transacted_at,
        transactions_risk.amount,
        transactions_risk.status,
        transaction_fraud_scores.fraud_score,
        transaction_fraud_scores.is_flagged,
        transaction_fraud_scores.top_reasons,
        transaction_fraud_scores.anomaly_score,
        transaction_fraud_scores.supervised_score,
        transaction_fraud_scores.rule_velocity,
        transaction_fraud_scores.rule_shared_device,
        transaction_fraud_scores.rule_new_device_foreign_ip,
        transaction_fraud_scores.rule_chargeback_history,
        transaction_fraud_scores.rule_amount_spike,
        transaction_fraud_scores.model_version,
        {{ build_started_at() }} as scored_at
    from transaction_fraud_scores
    inner join transactions_risk
        on transaction_fraud_scores.transaction_id = transactions_risk.transaction_id
)

select * from final
