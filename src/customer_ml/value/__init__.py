"""Customer value: buy-till-you-die models, churn and lifetime-value models, their train/apply routines."""
