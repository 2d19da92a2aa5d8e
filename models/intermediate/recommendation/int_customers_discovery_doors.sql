{#-
    The discovery items of each customer's list, for the 'current' and 'training' snapshots: one row per
    snapshot, customer and chosen item of a category new to them (door_order 1: the likeliest new category;
    2: the second, for the customers it helps most), from int_customers_candidate_scores.
    int_customers_recommendation_scores places them.

    Discovery: every list opens a door as well as repeating what the customer knows. The discovery
    blend scores each candidate from a category new to the customer with the chance they start buying in
    that category in the next horizon; each new category counts with its best item. Every customer with
    a new-category candidate gets their likeliest new category within the first var
    recommendation_discovery_rank positions; a second one (never position 1) goes to the customers it
    helps most, until the lists' expected number of customers taking up a new category there reaches
    that of a best-seller list (whose first positions show each customer the new categories they show).
    So the discovery slots are never expected to open fewer doors than global popularity, and take no
    more room from the customer's likeliest items than that needs. A chosen item already ranked within
    those positions stays; the others move into the last positions before var
    recommendation_discovery_rank, pushing the rest down. 0 turns discovery off.
-#}
{%- set discovery_rank = var('recommendation_discovery_rank') | int -%}
{%- set discovery_slots = [discovery_rank - 1, 1] | max if discovery_rank > 0 else 0 -%}
with

scored as {{ not_materialized() }} (
    select * from {{ ref('int_customers_candidate_scores') }}
),

new_categories as (
    -- Each category new to the customer, with its best item by the discovery blend.
    select
        snapshot_name,
        customer_key,
        category,
        item_key,
        discovery_chance
    from (
        select
            *,
            row_number() over (
                partition by snapshot_name, customer_key, category
                order by discovery_chance desc, global_share desc, item_key asc
            ) as rank_in_category
        from scored
        where is_new_category and {{ discovery_slots }} > 0
    ) as ranked_in_category
    where rank_in_category = 1
),

best_seller_categories as (
    -- The categories of the first var recommendation_discovery_rank items of a best-seller list.
    select distinct
        snapshot_name,
        category
    from scored
    where popularity_rank <= {{ discovery_rank }}
),

best_seller_doors as (
    -- The chance that the customer starts buying in at least one new category a best-seller list would
    -- show them in those positions.
    select
        new_categories.snapshot_name,
        new_categories.customer_key,
        1 - exp(cast(sum({{ exact('ln(1 - new_categories.discovery_chance)') }}) as double)) as door_chance
    from new_categories
    {{ semi_join() }} best_seller_categories
        on {{ same_keys('new_categories', 'best_seller_categories', ['snapshot_name', 'category']) }}
    group by new_categories.snapshot_name, new_categories.customer_key
),

ordered_doors as (
    select
        new_categories.*,
        coalesce(best_seller_doors.door_chance, 0) as best_seller_door_chance,
        row_number() over (
            partition by new_categories.snapshot_name, new_categories.customer_key
            order by new_categories.discovery_chance desc, new_categories.category asc
        ) as door_order,
        -- The chance that one of the likelier new categories is taken up.
        1 - exp(coalesce(sum(ln(1 - new_categories.discovery_chance)) over (
            partition by new_categories.snapshot_name, new_categories.customer_key
            order by new_categories.discovery_chance desc, new_categories.category asc
            rows between unbounded preceding and 1 preceding
        ), 0)) as door_chance_before
    from new_categories
    left join best_seller_doors
        on {{ same_keys('new_categories', 'best_seller_doors', ['snapshot_name', 'customer_key']) }}
),

customer_doors as (
    -- Each customer's chance that their likeliest new category is taken up, and the likeliest two.
    select
        snapshot_name,
        customer_key,
        any_value(best_seller_door_chance) as best_seller_door_chance,
        max(1 - (1 - door_chance_before) * (1 - discovery_chance)) filter (where door_order = 1)
            as one_door_chance,
        max(1 - (1 - door_chance_before) * (1 - discovery_chance)) filter (where door_order = 2)
            as two_doors_chance
    from ordered_doors
    group by snapshot_name, customer_key
),

door_shortfalls as (
    -- How far one door per customer falls short, summed over customers, of the new categories a
    -- best-seller list would show them: the expected number of customers it would open fewer doors for.
    select
        snapshot_name,
        cast(sum({{ exact('best_seller_door_chance - one_door_chance') }}) as double) as shortfall
    from customer_doors
    group by snapshot_name
),

second_doors as (
    -- Second doors go where they add most, until the shortfall is made up: the fewest extra slots that
    -- keep the lists' expected new-category take-up at least that of a best-seller list.
    select
        customer_doors.snapshot_name,
        customer_doors.customer_key,
        coalesce(sum(customer_doors.two_doors_chance - customer_doors.one_door_chance) over (
            partition by customer_doors.snapshot_name
            order by
                customer_doors.two_doors_chance - customer_doors.one_door_chance desc,
                customer_doors.customer_key asc
            rows between unbounded preceding and 1 preceding
        ), 0) < door_shortfalls.shortfall as has_second_door
    from customer_doors
    inner join door_shortfalls
        on customer_doors.snapshot_name = door_shortfalls.snapshot_name
    where customer_doors.two_doors_chance is not null
),

final as (
    select
        ordered_doors.snapshot_name,
        ordered_doors.customer_key,
        ordered_doors.item_key,
        ordered_doors.door_order
    from ordered_doors
    left join second_doors
        on {{ same_keys('ordered_doors', 'second_doors', ['snapshot_name', 'customer_key']) }}
    where
        ordered_doors.door_order = 1
        or (ordered_doors.door_order = 2 and {{ discovery_slots }} >= 2 and second_doors.has_second_door)
)

select * from final
