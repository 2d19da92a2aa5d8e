{#- The demo generator's hidden kind of each customer; empty unless the raw folder holds _truth/. -#}
with

customer_kinds as (
    {{ load_ground_truth('customer_kinds', ['customer_id', 'kind']) }}
),

final as (
    select
        customer_id,
        kind
    from customer_kinds
)

select * from final
