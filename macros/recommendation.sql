{% macro recent_items(customers_item_history) -%}
    {#- Each customer's var recommendation_anchor_items most recently bought items at each snapshot, from
        rows shaped like int_customers_item_history: the items co-purchases start from (int_items_copurchases
        pairs them, int_customers_recommendation_candidates follows them to related items). -#}
    {{ first_per_group(
        customers_item_history,
        ['snapshot_name', 'customer_key'],
        'last_bought_at desc, orders desc, item_key asc',
        var('recommendation_anchor_items') | int,
    ) }}
{%- endmacro %}

{% macro recommendation_signal_groups() -%}
    {#- The blend's signals of int_customers_recommendation_candidates, by the group that names the reason
        (recommendation_model_blend_weights learns a weight for each signal). -#}
    {{ return({
        'own_history': ['bought_before', 'log_own_orders', 'own_recency', 'repeat_propensity'],
        'category_habit': ['category_share'],
        'copurchase': ['copurchase_score'],
        'segment': ['segment_share'],
        'popularity': ['global_share'],
    }) }}
{%- endmacro %}

{% macro recommendation_discovery_signals() -%}
    {#- The signals of the discovery blend (the chance a customer starts buying in a new category). -#}
    {{ return([
        'global_share', 'segment_share', 'copurchase_score', 'category_adoption_rate', 'category_transition',
    ]) }}
{%- endmacro %}

{% macro recommendation_weights(blend_weights) -%}
    {#- One row per snapshot the blends apply to, from recommendation_model_blend_weights (a relation or
        CTE): the item blend's method and intercept, a column w_<signal> for each item signal and
        dw_<signal> for each discovery signal, and the discovery intercept. -#}
    select
        applies_to_snapshot,
        any_value(method) filter (where blend = 'item') as blend_method,
        max(weight) filter (where blend = 'item' and signal = 'intercept') as intercept,
        {%- for signals in recommendation_signal_groups().values() %}{% for signal in signals %}
        max(weight) filter (where blend = 'item' and signal = '{{ signal }}') as w_{{ signal }},
        {%- endfor %}{% endfor %}
        {%- for signal in recommendation_discovery_signals() %}
        max(weight) filter (where blend = 'discovery' and signal = '{{ signal }}') as dw_{{ signal }},
        {%- endfor %}
        max(weight) filter (where blend = 'discovery' and signal = 'intercept') as discovery_intercept
    from {{ blend_weights }}
    group by applies_to_snapshot
{%- endmacro %}

{% macro recommendation_contributions(weights='weights', candidates='candidates') -%}
    {#- For each signal group, the SQL of its contribution to the item blend's logit: the sum of
        weights.w_<signal> * candidates.<signal> over its signals. -#}
    {%- set contributions = {} -%}
    {%- for group, signals in recommendation_signal_groups().items() -%}
        {%- set terms = [] -%}
        {%- for signal in signals -%}
            {%- do terms.append(weights ~ '.w_' ~ signal ~ ' * ' ~ candidates ~ '.' ~ signal) -%}
        {%- endfor -%}
        {%- do contributions.update({group: terms | join('\n        + ')}) -%}
    {%- endfor -%}
    {{ return(contributions) }}
{%- endmacro %}

{% macro segments_by_customer_key(segment_assignments='segment_assignments', customer_keys='customer_keys') -%}
    {#- Today's segment of each customer by their recommender key (int_recommendation_customer_keys), from
        the relations (or CTEs) segment_assignments (segmentation_model_assignments) and customer_keys. -#}
    select
        {{ customer_keys }}.customer_key,
        {{ segment_assignments }}.segment_id
    from {{ segment_assignments }}
    inner join {{ customer_keys }}
        on {{ segment_assignments }}.customer_id = {{ customer_keys }}.customer_id
{%- endmacro %}

{% macro snapshot_key(expression) -%}
    {#- A snapshot name (int_as_of_dates: 'backtest', 'training', 'current') as the recommender keys its
        tables by it. On DuckDB an ENUM, one byte compared and hashed instead of a string: the recommender
        joins and groups tens of millions of rows on (snapshot_name, customer_key, item_key), and its
        candidates query took 80 CPU s with text keys against 61 with the ENUM at 1,000,000 customers (the
        same rows). The values are in alphabetical order, so the ENUM sorts as the text does. Spark: the
        text. -#}
    {{ return(adapter.dispatch('snapshot_key', 'customer_segmentation')(expression)) }}
{%- endmacro %}

{% macro default__snapshot_key(expression) -%}
    {{ expression }}
{%- endmacro %}

{% macro duckdb__snapshot_key(expression) -%}
    cast({{ expression }} as enum('backtest', 'current', 'training'))
{%- endmacro %}
