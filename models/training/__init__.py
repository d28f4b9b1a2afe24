"""Training: windows, labels, the Sharpe and classifier objectives, nested CV, calibration,
baselines, and the pipeline from frames to an artifact."""
