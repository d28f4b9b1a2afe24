"""backtrader indicators: the feature vector and the model's signal."""

from indicators.feature_vector import FeatureVector
from indicators.features import compute_features, feature_matrix, warmup_bars
from indicators.model_signal import ModelSignal

__all__ = ["FeatureVector", "ModelSignal", "compute_features", "feature_matrix", "warmup_bars"]
