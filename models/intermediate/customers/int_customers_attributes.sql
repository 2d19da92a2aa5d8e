{#-
    Attributes of every customer in the customers table at each as-of date: tenure since sign-up, age and
    age band, country, gender and acquisition channel. Null for customers without a customers row.
-#}
with

customers as (
    select * from {{ ref('stg_raw__customers') }}
),

as_of_dates as (
    select * from {{ ref('int_as_of_dates') }}
),

aged as (
    select
        as_of_dates.as_of_date,
        customers.customer_id,
        customers.signed_up_at,
        case
            when customers.signed_up_at < as_of_dates.as_of_date
                then {{ days_between('as_of_dates.as_of_date', 'cast(customers.signed_up_at as date)') }}
        end as signup_tenure_days,
        year(as_of_dates.as_of_date) - customers.birth_year as age_years,
        customers.country,
        customers.gender,
        customers.acquisition_channel
    from customers
    inner join as_of_dates
        on {{ in_snapshot_sample('customers.customer_id', 'as_of_dates') }}
),

final as (
    select
        as_of_date,
        customer_id,
        signup_tenure_days,
        age_years,
        case
            when age_years is null then null
            when age_years < 25 then 'under 25'
            when age_years < 35 then '25-34'
            when age_years < 45 then '35-44'
            when age_years < 55 then '45-54'
            when age_years < 65 then '55-64'
            else '65 and over'
        end as age_band,
        country,
        gender,
        acquisition_channel
    from aged
)

select * from final
