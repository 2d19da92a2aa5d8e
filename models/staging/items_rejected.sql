{{ rejected_rows(ref('base_raw__items'), 'items') }}
