"""Recommendations: the learned blend of the SQL recommender's candidate sources."""
