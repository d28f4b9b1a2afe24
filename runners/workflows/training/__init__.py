"""Training workflow: frames to an artifact, multi-symbol features, the cached default model."""
