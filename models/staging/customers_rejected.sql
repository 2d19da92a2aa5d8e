{{ rejected_rows(ref('base_raw__customers'), 'customers') }}
