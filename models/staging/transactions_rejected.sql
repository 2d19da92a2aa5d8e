{{ rejected_rows(ref('base_raw__transactions'), 'transactions') }}
