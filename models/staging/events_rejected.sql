{{ rejected_rows(ref('base_raw__events'), 'events') }}
