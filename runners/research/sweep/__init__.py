"""Sweep workflow: search space, one trial, Ray Tune driver and the report."""
