-- Fraud marts: one score per transaction the risk features cover (the accepted transactions up to the
-- as-of date), one per segmented customer, and every flag says why
-- (docs/data-contract.md).
with

fraud_transaction_scores as (
    select * from {{ ref('fraud_transaction_scores') }}
),

fraud_customer_scores as (
    select * from {{ ref('fraud_customer_scores') }}
),

customer_segments as (
    select * from {{ ref('customer_segments') }}
),

transactions_risk as (
    select * from {{ ref('int_transactions_risk') }}
),

unscored_transactions as (
    select
        transactions_risk.transaction_id as id,
        'transaction without a fraud score' as problem
    from transactions_risk
    {{ anti_join() }} fraud_transaction_scores
        on transactions_risk.transaction_id = fraud_transaction_scores.transaction_id
),

unscored_customers as (
    select
        customer_segments.customer_id as id,
        'segmented customer without a fraud score' as problem
    from customer_segments
    {{ anti_join() }} fraud_customer_scores
        on customer_segments.customer_id = fraud_customer_scores.customer_id
),

flags_without_reasons as (
    select
        transaction_id as id,
        'flagged transaction without a reason' as problem
    from fraud_transaction_scores
    where is_flagged and coalesce(trim(cast(top_reasons as {{ text_type() }})), '') in ('', '[]')
    union all
    select
        customer_id as id,
        'flagged customer without a reason' as problem
    from fraud_customer_scores
    where is_flagged and coalesce(trim(cast(top_reasons as {{ text_type() }})), '') in ('', '[]')
),

final as (
    select * from unscored_transactions
    union all
    select * from unscored_customers
    union all
    select * from flags_without_reasons
)

select * from final
