"""The model ``backtest.py`` uses when no ``--model`` is given: trained on the earlier part of
the data, cached under the user's cache directory by data hash and configuration."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import pandas as pd

from bt_attention_lstm.models.artifact import Artifact, load_artifact
from bt_attention_lstm.models.data import data_fingerprint
from bt_attention_lstm.models.errors import ArtifactError, DataError
from bt_attention_lstm.models.feature_spec import FeatureSpec
from bt_attention_lstm.models.network import ModelConfig
from bt_attention_lstm.models.training import TrainConfig
from bt_attention_lstm.runners.workflows.training.pipeline import min_training_bars, train_and_save

logger = logging.getLogger(__name__)

# Small enough to train in well under a minute on two cores, same architecture as the default.
DEFAULT_TRAIN_CONFIG = TrainConfig(epochs=12, patience=3, folds=3, batch_size=128, seed=7)


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bt-attention-lstm" / "models"


def cache_key(train_df: pd.DataFrame, model_config: ModelConfig, config: TrainConfig) -> str:
    payload = {
        "data": data_fingerprint(train_df),
        "model": model_config.to_dict(),
        "train": config.to_dict(),
        "features": FeatureSpec().to_dict(),
        "format": 1,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def split_point(df: pd.DataFrame, train_fraction: float) -> int:
    if not 0.1 <= train_fraction <= 0.9:
        raise DataError(f"--train-fraction must be within [0.1, 0.9], got {train_fraction}")
    return int(len(df) * train_fraction)


def default_model(
    df: pd.DataFrame, train_fraction: float, device: str, progress: bool
) -> tuple[Artifact, pd.Timestamp, bool]:
    """(artifact, first out-of-sample bar, whether it came from the cache)."""
    config = TrainConfig(**{**DEFAULT_TRAIN_CONFIG.to_dict(), "device": device})
    model_config = ModelConfig(n_features=FeatureSpec().n_features)
    cut = split_point(df, train_fraction)
    train_df = df.iloc[:cut]
    needed = min_training_bars(model_config, config)
    if len(train_df) < needed:
        raise DataError(
            f"the training part ({len(train_df)} bars, {train_fraction:.0%} of the data) needs "
            f"at least {needed} bars: use more data, a larger --train-fraction, or --model DIR"
        )
    path = cache_root() / cache_key(train_df, model_config, config)
    if path.is_dir():
        try:
            artifact = load_artifact(path)
            logger.info("using the cached default model %s", path)
            return artifact, df.index[cut], True
        except ArtifactError as exc:
            logger.warning("cached model %s is unusable (%s); retraining", path, exc)
    logger.info(
        "training the default model on %d bars (%s .. %s)",
        len(train_df),
        train_df.index[0].date(),
        train_df.index[-1].date(),
    )
    train_and_save([train_df], model_config, config, path, progress=progress)
    return load_artifact(path), df.index[cut], False
