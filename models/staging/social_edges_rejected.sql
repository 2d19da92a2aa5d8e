{{ rejected_rows(ref('base_raw__social_edges'), 'social_edges') }}
