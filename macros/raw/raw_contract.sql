{#-
    The input side of the data contract (../shared/data-contract.md) in one place: for each raw table,
    its columns in order, which of them must be present when the table is, and whether the table itself
    is required. load_raw() and the staging models read this; nothing else lists raw columns.
-#}
{% macro raw_contract() %}
    {{ return({
        'transactions': {
            'required': true,
            'columns': ['transaction_id', 'customer_id', 'transacted_at', 'amount', 'quantity', 'status',
                        'payment_method', 'device_id', 'ip_country', 'channel'],
            'required_columns': ['customer_id', 'transacted_at', 'amount'],
        },
        'transaction_items': {
            'required': false,
            'columns': ['transaction_id', 'item_id', 'quantity', 'unit_price'],
            'required_columns': ['transaction_id', 'item_id', 'quantity', 'unit_price'],
        },
        'items': {
            'required': false,
            'columns': ['item_id', 'category', 'brand', 'price'],
            'required_columns': ['item_id', 'category'],
        },
        'customers': {
            'required': false,
            'columns': ['customer_id', 'signed_up_at', 'country', 'birth_year', 'gender',
                        'acquisition_channel'],
            'required_columns': ['customer_id', 'signed_up_at'],
        },
        'events': {
            'required': false,
            'columns': ['customer_id', 'occurred_at', 'event_type', 'session_id', 'item_id'],
            'required_columns': ['customer_id', 'occurred_at', 'event_type'],
        },
        'social_edges': {
            'required': false,
            'columns': ['customer_id', 'related_customer_id', 'relation', 'created_at'],
            'required_columns': ['customer_id', 'related_customer_id', 'relation'],
        },
        'fraud_labels': {
            'required': false,
            'columns': ['transaction_id', 'is_fraud', 'labeled_at'],
            'required_columns': ['transaction_id', 'is_fraud'],
        },
    }) }}
{% endmacro %}
