"""Torch and data-science layer: data loading, labels, the AttentionLSTM, training, artifacts.

Nothing here imports backtrader. Names are exported lazily (see ``lazy_exports``).
"""

from bt_attention_lstm.models.lazy_exports import lazy_exports

_EXPORTS = {
    "Artifact": "artifact",
    "load_artifact": "artifact",
    "save_artifact": "artifact",
    "ArtifactError": "errors",
    "ConfigError": "errors",
    "DataError": "errors",
    "PluginError": "errors",
    "TrainingError": "errors",
    "UserInputError": "errors",
    "FEATURE_NAMES": "features.spec",
    "FeatureSpec": "features.spec",
    "AttentionLSTM": "nn.network",
    "ModelConfig": "config",
    "TrainConfig": "config",
    "Trainer": "training.classifier",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
