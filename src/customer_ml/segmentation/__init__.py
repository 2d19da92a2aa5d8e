"""Segmentation: the estimator, its configuration, its evaluation and the segment profiles."""
