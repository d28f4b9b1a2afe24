"""The model ``run_backtest`` uses when no ``model`` is given: trained on the earlier part of
the data, cached under the user's cache directory by data hash and configuration."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bt_attention_lstm.models.artifact import Artifact, load_artifact
from bt_attention_lstm.models.cache import cache_dir
from bt_attention_lstm.models.data import data_fingerprint
from bt_attention_lstm.models.errors import ArtifactError, DataError
from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.models.nn.network import ModelConfig
from bt_attention_lstm.models.training.classifier import TrainConfig
from bt_attention_lstm.models.training.pipeline import min_training_bars, train_and_save
from bt_attention_lstm.models.training.progress import (
    estimate_training_seconds,
    training_bar,
)

logger = logging.getLogger(__name__)

# evaluate.py measures this configuration (docs/MODEL_QUALITY.md); change both together.
# A position head trained on the Sharpe ratio after a 10 bps turnover cost (Lim, Zohren &
# Roberts, 2019), small and strongly regularised: hidden 16, one LSTM layer, dropout 0.3, weight
# decay 0.1, 20-bar windows of the nine vol-normalised trend inputs (ta-v2). Taken from the
# literature's setting and the previous classifier's sizes, not tuned on the figures reported.
# Three members, their positions averaged: chosen on selection sets that share no bar with the
# reported figures (docs/MODEL_QUALITY.md, "The default configuration"): ahead of one member on
# the synthetic families, level with it on two windows of the stock panel; three times the
# training.
DEFAULT_TRAIN_CONFIG = TrainConfig(
    epochs=30, patience=6, folds=3, batch_size=256, lr=1e-3, weight_decay=0.1, horizon=5, seed=7,
    ensemble=3, objective="sharpe", cost_bps=10.0,
)
DEFAULT_MODEL_SIZES: dict[str, Any] = {
    "hidden": 16, "layers": 1, "heads": 2, "dropout": 0.3, "seq_len": 20,
}


def default_model_config(spec: FeatureSpec | None = None) -> ModelConfig:
    """The architecture of the default model (its head: the default objective's), for the
    current feature spec."""
    return ModelConfig(n_features=(spec or FeatureSpec()).n_features, **DEFAULT_MODEL_SIZES,
                       head=DEFAULT_TRAIN_CONFIG.head)


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/bt-attention-lstm/models``: the default models, by data and config."""
    return cache_dir("models")


def cache_key(train_df: pd.DataFrame, model_config: ModelConfig, config: TrainConfig) -> str:
    payload = {
        "data": data_fingerprint(train_df),
        "model": model_config.to_dict(),
        "train": config.to_dict(),
        "features": FeatureSpec().to_dict(),
        # the training procedure's version: raising it retrains every cached default model
        # (9: three members; 8: a final network that does not fit its training bars is trained
        # again; CHANGELOG.md has the others)
        "format": 9,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def split_point(df: pd.DataFrame, train_fraction: float) -> int:
    if not 0.1 <= train_fraction <= 0.9:
        raise DataError(f"`train_fraction` must be within [0.1, 0.9], got {train_fraction}")
    return int(len(df) * train_fraction)


@dataclass(frozen=True)
class DefaultModelPlan:
    """What ``default_model`` will do, known before it does it (for the runner's plan line)."""

    path: Path  # the cache directory of this data, split and configuration
    cached: bool  # a model is already there: no training
    train_bars: int  # bars it trains on (the first ``train_fraction`` of the data)
    oos_start: pd.Timestamp  # the first bar after them: where trading starts
    folds: int  # outer CV folds of the training (then one final fit)
    seconds: float  # rough training time on this machine (0 when cached)


def _default_config(device: str) -> TrainConfig:
    return TrainConfig(**{**DEFAULT_TRAIN_CONFIG.to_dict(), "device": device})


def default_model_plan(df: pd.DataFrame, train_fraction: float, device: str) -> DefaultModelPlan:
    """The default model's cache path for ``df`` and whether it is there (nothing is trained)."""
    from bt_attention_lstm.models.device import resolve_device

    config = _default_config(device)
    cut = split_point(df, train_fraction)
    _check_training_bars(cut, default_model_config(), config)
    path = cache_root() / cache_key(df.iloc[:cut], default_model_config(), config)
    cached = path.is_dir()  # written atomically: a directory there is a whole artifact
    seconds = 0.0 if cached else estimate_training_seconds(cut, resolve_device(device).type)
    return DefaultModelPlan(path, cached, cut, df.index[cut], config.folds, seconds)


def default_model(
    df: pd.DataFrame, train_fraction: float, device: str, progress: bool
) -> tuple[Artifact, pd.Timestamp, bool]:
    """(artifact, first out-of-sample bar, whether it came from the cache). ``progress``: one
    bar over the training's fits (``training.progress.training_bar``)."""
    config = _default_config(device)
    cut = split_point(df, train_fraction)
    artifact, cached = cached_model(df.iloc[:cut], default_model_config(), config, progress)
    return artifact, df.index[cut], cached


def _check_training_bars(bars: int, model_config: ModelConfig, config: TrainConfig) -> None:
    needed = min_training_bars(model_config, config)
    if bars < needed:
        raise DataError(
            f"the training part ({bars} bars) needs at least {needed} bars: use more "
            "data, a larger `train_fraction`, or a trained `model`"
        )


def cached_model(
    train_df: pd.DataFrame, model_config: ModelConfig, config: TrainConfig, progress: bool
) -> tuple[Artifact, bool]:
    """(artifact trained on ``train_df`` with these configurations, whether it was cached)."""
    _check_training_bars(len(train_df), model_config, config)
    path = cache_root() / cache_key(train_df, model_config, config)
    if path.is_dir():
        try:
            artifact = load_artifact(path)
            logger.info("using the cached model %s", path)
            return artifact, True
        except ArtifactError as exc:
            logger.warning("cached model %s is unusable (%s); retraining", path, exc)
    logger.info(
        "training a model on %d bars (%s .. %s), seed %d",
        len(train_df),
        train_df.index[0].date(),
        train_df.index[-1].date(),
        config.seed,
    )
    with training_bar(config, progress, desc="training the model"):
        train_and_save([train_df], model_config, config, path, progress=False)
    return load_artifact(path), False
