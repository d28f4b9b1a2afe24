"""backtrader indicators: the feature vector and the model's signal."""

from bt_attention_lstm.indicators.feature_vector import FeatureVector
from bt_attention_lstm.indicators.features import compute_features, feature_matrix, warmup_bars
from bt_attention_lstm.indicators.model_signal import ModelSignal

__all__ = ["FeatureVector", "ModelSignal", "compute_features", "feature_matrix", "warmup_bars"]
