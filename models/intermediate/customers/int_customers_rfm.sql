{#-
    Recency, frequency and monetary value of every customer with a transaction before each as-of date,
    scored 1 to 5 from ranks (tied customers always share a score) and named by the seed's rules.

    Every transaction is read once: aggregated per customer and period between as-of dates
    (as_of_periods), each snapshot adding up the periods before its date (a day lies in one period).
-#}
with

transactions as (
    select * from {{ ref('stg_raw__transactions') }}
),

rfm_segment_rules as (
    select * from {{ ref('rfm_segment_rules') }}
),

periods as (
    {{ as_of_periods() }}
),

snapshot_periods as (
    {{ snapshot_periods() }}
),

period_totals as (
    select
        transactions.customer_id,
        periods.period,
        min(transactions.transacted_at) as first_transacted_at,
        max(transactions.transacted_at) as last_transacted_at,
        min(transactions.transacted_at) filter (where transactions.is_purchase) as first_purchase_at,
        max(transactions.transacted_at) filter (where transactions.is_purchase) as last_purchase_at,
        count(*) filter (where transactions.is_purchase) as orders,
        count(distinct cast(transactions.transacted_at as date)) filter (where transactions.is_purchase)
            as purchase_days,
        sum(transactions.amount) filter (where transactions.is_purchase) as gross_revenue,
        sum(transactions.amount) as net_revenue
    from transactions
    inner join periods
        on {{ in_period('transactions.transacted_at') }}
    group by transactions.customer_id, periods.period
),

per_customer as (
    select
        snapshot_periods.as_of_date,
        period_totals.customer_id,
        min(period_totals.first_transacted_at) as first_transacted_at,
        max(period_totals.last_transacted_at) as last_transacted_at,
        min(period_totals.first_purchase_at) as first_purchase_at,
        max(period_totals.last_purchase_at) as last_purchase_at,
        cast(sum(period_totals.orders) as bigint) as orders,
        cast(sum(period_totals.purchase_days) as bigint) as purchase_days,
        coalesce(sum(period_totals.gross_revenue), 0) as gross_revenue,
        sum(period_totals.net_revenue) as net_revenue
    from period_totals
    inner join snapshot_periods
        on period_totals.period = snapshot_periods.period
    group by snapshot_periods.as_of_date, period_totals.customer_id
),

measured as (
    select
        as_of_date,
        customer_id,
        first_purchase_at,
        last_purchase_at,
        {{ days_between('as_of_date', 'cast(coalesce(last_purchase_at, last_transacted_at) as date)') }}
            as recency_days,
        {{ days_between('as_of_date', 'cast(coalesce(first_purchase_at, first_transacted_at) as date)') }}
            as tenure_days,
        orders as frequency,
        purchase_days,
        greatest(net_revenue, 0) as monetary,
        gross_revenue,
        net_revenue,
        case when orders > 0 then {{ divide('gross_revenue', 'orders') }} end as average_order_value
    from per_customer
),

scored as (
    select
        *,
        {{ rank_score('recency_days desc', 'as_of_date') }} as r_score,
        {{ rank_score('frequency', 'as_of_date') }} as f_score,
        {{ rank_score('monetary', 'as_of_date') }} as m_score
    from measured
),

named as (
    select
        scored.*,
        rfm_segment_rules.rfm_segment,
        row_number() over (
            partition by scored.as_of_date, scored.customer_id
            order by rfm_segment_rules.priority
        ) as rule_rank
    from scored
    left join rfm_segment_rules
        on scored.r_score between rfm_segment_rules.r_score_min and rfm_segment_rules.r_score_max
            and scored.f_score between rfm_segment_rules.f_score_min and rfm_segment_rules.f_score_max
            and scored.m_score between rfm_segment_rules.m_score_min and rfm_segment_rules.m_score_max
),

final as (
    select
        as_of_date,
        customer_id,
        first_purchase_at,
        last_purchase_at,
        recency_days,
        tenure_days,
        frequency,
        purchase_days,
        monetary,
        gross_revenue,
        net_revenue,
        average_order_value,
        r_score,
        f_score,
        m_score,
        concat(r_score, f_score, m_score) as rfm_code,
        rfm_segment
    from named
    where rule_rank = 1
)

select * from final
