{#-
    unique_combination: fails on each combination of the columns that occurs more than once.

    Two passes: each row's combination is hashed to one integer (sample_hash), and only the rows whose
    hash occurs more than once are grouped by the columns themselves. Grouping tens of millions of
    integers is cheaper than grouping the same rows by text and several keys, and the second pass is
    exact, so a hash collision is never reported as a duplicate and every duplicate is (rows with the
    same values always have the same hash; nulls group as they do in a plain group by).
-#}
{% test unique_combination(model, columns) %}
{%- set combination = columns | join(', ') %}
with

hashed as (
    select {{ sample_hash(combination) }} as combination_hash
    from {{ model }}
),

repeated_hashes as (
    select combination_hash
    from hashed
    group by combination_hash
    having count(*) > 1
),

final as (
    select
        {{ combination }},
        count(*) as occurrences
    from {{ model }}
    where {{ sample_hash(combination) }} in (select repeated_hashes.combination_hash from repeated_hashes)
    group by {{ combination }}
    having count(*) > 1
)

select * from final
{% endtest %}
