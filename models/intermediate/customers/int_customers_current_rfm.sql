{#-
    RFM of every customer with a transaction before the current as-of date (the scoring date): the rows
    of int_customers_rfm at that date, which the segmentation marts report.
-#}
with

customers_rfm as (
    select * from {{ ref('int_customers_rfm') }}
),

as_of_dates as (
    select * from {{ ref('int_as_of_dates') }}
),

final as (
    select customers_rfm.*
    from customers_rfm
    inner join as_of_dates
        on customers_rfm.as_of_date = as_of_dates.as_of_date
    where as_of_dates.is_current
)

select * from final
