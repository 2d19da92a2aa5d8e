{#-
    rank_score(order_by, partition_by, buckets=5): a 1..buckets score from the row's percent rank.
    percent_rank gives tied rows the rank of the first of them, so ties always share a score, and a mass
    of tied lowest values (say, one-order customers) scores 1 rather than the middle of the scale.
-#}
{% macro rank_score(order_by, partition_by, buckets=5) -%}
    cast(least(
        {{ buckets }},
        1 + floor({{ buckets }} * percent_rank() over (partition by {{ partition_by }} order by {{ order_by }}))
    ) as integer)
{%- endmacro %}
