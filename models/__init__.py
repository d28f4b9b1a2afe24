"""Torch and data-science layer: data loading, labels, the AttentionLSTM, training, artifacts.

Nothing here imports backtrader.
"""

from bt_attention_lstm.models.artifact import Artifact, load_artifact, save_artifact
from bt_attention_lstm.models.errors import (
    ArtifactError,
    ConfigError,
    DataError,
    PluginError,
    TrainingError,
    UserInputError,
)
from bt_attention_lstm.models.feature_spec import FEATURE_NAMES, FeatureSpec
from bt_attention_lstm.models.network import AttentionLSTM, ModelConfig
from bt_attention_lstm.models.training import TrainConfig, Trainer

__all__ = [
    "FEATURE_NAMES",
    "Artifact",
    "ArtifactError",
    "AttentionLSTM",
    "ConfigError",
    "DataError",
    "FeatureSpec",
    "ModelConfig",
    "PluginError",
    "TrainConfig",
    "Trainer",
    "TrainingError",
    "UserInputError",
    "load_artifact",
    "save_artifact",
]
