{#-
    Social links of every customer with a transaction before each as-of date: referrals made and
    received, friends, degree, the revenue of the customers they referred, and the spend and lapse rate
    of the customers they are linked to. Links created on or after the as-of date are not seen. Null
    throughout when there is no social_edges table; 0 for an unlinked customer when there is one.
-#}
with

social_edges as (
    select * from {{ ref('stg_raw__social_edges') }}
),

customers_rfm as {{ not_materialized() }} (
    select * from {{ ref('int_customers_rfm') }}
),

as_of_dates as (
    select * from {{ ref('int_as_of_dates') }}
),

customers as (
    -- Whether there is a social_edges table at all, beside every customer of int_customers_rfm (at the
    -- past dates, the sampled ones: in_snapshot_sample). The customers they are linked to are looked up
    -- among all of them, sampled or not.
    select
        {{ source_has_rows(ref('stg_raw__social_edges')) }} as has_social_source,
        customers_rfm.as_of_date,
        customers_rfm.customer_id
    from customers_rfm
    inner join as_of_dates
        on customers_rfm.as_of_date = as_of_dates.as_of_date
            and {{ in_snapshot_sample('customers_rfm.customer_id', 'as_of_dates') }}
),

visible_edges as {{ not_materialized() }} (
    {{ rows_as_of(
        'social_edges', 'created_at', ['as_of_date', 'horizon_days', 'sample_share'], keep_undated=true
    ) }}
),

-- Each link seen from both ends: the customer, the other customer, and which way it points.
link_ends as (
    select
        as_of_date,
        horizon_days,
        sample_share,
        customer_id,
        related_customer_id as other_customer_id,
        relation,
        true as is_outgoing
    from visible_edges
    union all
    select
        as_of_date,
        horizon_days,
        sample_share,
        related_customer_id as customer_id,
        customer_id as other_customer_id,
        relation,
        false as is_outgoing
    from visible_edges
),

linked as (
    select
        link_ends.*,
        others.monetary as other_monetary,
        others.recency_days > link_ends.horizon_days as is_other_lapsed,
        -- A customer linked several ways (friends both ways, friend and referral) counts once in the means
        -- (every link to them carries the same figures; the order is there because Spark requires one).
        row_number() over (
            partition by link_ends.as_of_date, link_ends.customer_id, link_ends.other_customer_id
            order by link_ends.relation, link_ends.is_outgoing
        ) = 1 as is_first_link_to_other
    from link_ends
    left join customers_rfm as others
        on link_ends.as_of_date = others.as_of_date
            and link_ends.other_customer_id = others.customer_id
    where {{ in_snapshot_sample('link_ends.customer_id', 'link_ends') }}
),

per_customer as (
    select
        as_of_date,
        customer_id,
        count(distinct other_customer_id) filter (where relation = 'referral' and is_outgoing)
            as referrals_made,
        count(distinct other_customer_id) filter (where relation = 'referral' and not is_outgoing)
            as referrals_received,
        count(distinct other_customer_id) filter (where relation = 'friend') as friends,
        count(distinct other_customer_id) as degree,
        sum(other_monetary) filter (where relation = 'referral' and is_outgoing)
            as referred_customers_revenue,
        {{ decimal_mean('other_monetary', 'is_first_link_to_other') }} as linked_customers_mean_spend,
        avg(cast(is_other_lapsed as double)) filter (where is_first_link_to_other)
            as linked_customers_lapse_rate
    from linked
    group by as_of_date, customer_id
),

final as (
    select
        customers.as_of_date,
        customers.customer_id,
        {{ zero_if_present_columns('customers.has_social_source', 'per_customer', [
            'referrals_made', 'referrals_received', 'friends', 'degree', 'referred_customers_revenue',
        ]) }},
        per_customer.linked_customers_mean_spend,
        per_customer.linked_customers_lapse_rate
    from customers
    left join per_customer
        on {{ same_keys('customers', 'per_customer', ['as_of_date', 'customer_id']) }}
)

select * from final
