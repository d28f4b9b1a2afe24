"""backtrader indicators: the feature vector and the model's signal (exported lazily)."""

from bt_attention_lstm.models.lazy_exports import lazy_exports

_EXPORTS = {
    "FeatureVector": "feature_vector",
    "ModelSignal": "model_signal",
    "compute_features": "features",
    "feature_matrix": "features",
    "warmup_bars": "features",
    "predict_frame": "frame_predictions",  # not a module of the same name: it would shadow it
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
