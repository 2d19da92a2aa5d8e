{{ rejected_rows(ref('base_raw__fraud_labels'), 'fraud_labels') }}
