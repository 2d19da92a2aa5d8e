{#- Where an incremental model keeps its new rows before they are merged into the table.

    dbt-duckdb 1.11.1 asks for a connection-local temporary table (`<model>__dbt_tmp<timestamp>`). For a
    Python model that returns Arrow, the adapter writes it through another cursor, where a temporary
    table would be invisible to the merge, so py_write_table creates a real table in main instead,
    which the materialization then never drops, believing it temporary: every build of an existing
    database left one per incremental Python model (the three registries). For Python models this
    takes the adapter's other route (the one it uses on MotherDuck): a real table in schema dbt_temp,
    named per run, that the materialization drops once the merge is committed. SQL models keep the
    temporary table. A build killed between the two leaves a dbt_temp table, which
    drop_leftover_temp_tables (on-run-end) removes. -#}
{% macro duckdb__dispatch_temporary_relation(target_relation, batch_id='') %}
    {% if adapter.is_motherduck() or model['language'] == 'python' %}
        {% set relation = target_relation.incorporate(
            path=adapter.get_temp_relation_path(target_relation, batch_id)
        ) %}
        {% do run_query(create_schema(relation)) %}
        {% if not adapter.disable_transactions() %}
            {% do adapter.commit() %}
        {% endif %}
        {% do return({'relation': relation, 'temporary': false}) %}
    {% else %}
        {% do return({
            'relation': make_temp_relation(target_relation),
            'temporary': true
        }) %}
    {% endif %}
{% endmacro %}
