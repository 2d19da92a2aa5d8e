{% macro recent_items(customers_item_history) -%}
    {#- Each customer's var recommendation_anchor_items most recently bought items at each snapshot, from
        rows shaped like int_customers_item_history: the items co-purchases start from (int_items_copurchases
        pairs them, int_customers_recommendation_candidates follows them to related items). -#}
    {{ first_per_group(
        customers_item_history,
        ['snapshot_name', 'customer_id'],
        'last_bought_at desc, orders desc, item_id asc',
        var('recommendation_anchor_items') | int,
    ) }}
{%- endmacro %}
