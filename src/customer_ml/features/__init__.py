"""Features: the feature catalog and the preprocessing it drives (the SQL layer computes every feature)."""
