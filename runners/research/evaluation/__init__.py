"""Evaluation workflow: does the model earn its place on this data? Nested CV against baselines,
out-of-sample log-loss against the prior, and out-of-sample trading against buy-and-hold, an SMA
crossover and time-series momentum, over several training seeds (``runners/evaluate.py``)."""
