{{ rejected_rows(ref('base_raw__transaction_items'), 'transaction_items') }}
