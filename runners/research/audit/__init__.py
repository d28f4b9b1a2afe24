"""Audit workflow: causality, overlap, PSR and surrogate checks of a model on a data set."""
