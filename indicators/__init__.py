"""backtrader indicators: the feature vector and the model's signal (exported lazily)."""

from bt_attention_lstm.models.lazy_exports import lazy_exports

_EXPORTS = {
    "FeatureVector": "feature_vector",
    "ModelSignal": "model_signal",
    # the one feature definition lives in models; indicators re-export it for backtrader users
    "compute_features": "bt_attention_lstm.models.features.compute",
    "feature_matrix": "bt_attention_lstm.models.features.compute",
    "warmup_bars": "bt_attention_lstm.models.features.compute",
    "predict_frame": "bt_attention_lstm.models.inference.frame_predictions",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
