"""Data frames -> features + labels -> Trainer -> artifact. Used by train, backtest and
walk-forward runners so that every model is trained the same way."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import logging
import platform
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bt_attention_lstm.models.artifact import save_artifact
from bt_attention_lstm.models.data import data_fingerprint, infer_periods_per_year, infer_timeframe
from bt_attention_lstm.models.features.compute import DEFAULT_SPEC, compute_features, warmup_bars
from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.models.nn.network import ModelConfig
from bt_attention_lstm.models.training.classifier import (
    CVReport,
    Segment,
    TrainConfig,
    Trainer,
    TrainingResult,
)
from bt_attention_lstm.models.training.labels import make_labels
from bt_attention_lstm.models.training.position import (
    PositionCVReport,
    PositionTrainer,
    PositionTrainingResult,
)

logger = logging.getLogger(__name__)

VERSIONED_PACKAGES = (
    "torch", "numpy", "pandas", "scikit-learn", "TA-Lib", "backtrader", "safetensors",
    "bt-attention-lstm",
)


def min_training_bars(model_config: ModelConfig, config: TrainConfig,
                      spec: FeatureSpec = DEFAULT_SPEC) -> int:
    """Bars needed: feature warm-up + one window + the label horizon + enough for the folds
    (each outer training fold also holds an inner slice after a gap of ``horizon``)."""
    per_fold = 30
    return warmup_bars(spec) + model_config.seq_len + config.horizon * (config.folds + 2) + (
        per_fold * (config.folds + 1)
    )


def segment_of(df: pd.DataFrame, config: TrainConfig, spec: FeatureSpec = DEFAULT_SPEC) -> Segment:
    """Features and labels of one symbol, computed from its own bars only."""
    features = compute_features(df, spec).to_numpy()
    close = df["close"].to_numpy(dtype=np.float64)
    labels = make_labels(close, config.horizon, config.flat_band)
    return Segment(features, labels, df.index.as_unit("ns").asi8.astype(np.int64), close)


def trainer_for(
    model_config: ModelConfig, config: TrainConfig, progress: bool = True
) -> Trainer | PositionTrainer:
    """The trainer of ``config.objective``: a position head on the Sharpe ratio, or the
    classifier."""
    if config.objective == "sharpe":
        return PositionTrainer(model_config, config, progress=progress)
    return Trainer(model_config, config, progress=progress)


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def train_and_save(
    frames: Sequence[pd.DataFrame],
    model_config: ModelConfig,
    config: TrainConfig,
    out: str | Path,
    progress: bool = True,
    segments: Sequence[Segment] | None = None,
) -> tuple[Path, TrainingResult | PositionTrainingResult]:
    """Train on ``frames`` (one per symbol) and write the artifact atomically to ``out``."""
    segs = list(segments) if segments is not None else [segment_of(df, config) for df in frames]
    result = trainer_for(model_config, config, progress).fit(segs)
    start = min(df.index[0] for df in frames)
    end = max(df.index[-1] for df in frames)
    first = frames[0]
    training = {
        "start": str(start.date()) if start == start.normalize() else str(start),
        "end": str(end.date()) if end == end.normalize() else str(end),
        "bars": int(sum(len(df) for df in frames)),
        "timeframe": infer_timeframe(first.index),
        "periods_per_year": infer_periods_per_year(first.index),
        "sources": [str(df.attrs.get("source", "unknown")) for df in frames],
        "data_sha256": [data_fingerprint(df) for df in frames],
        "config": config.to_dict(),
    }
    path = save_artifact(
        out,
        result.members,
        result.scaler,
        DEFAULT_SPEC,
        config.horizon,
        {
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "flat_band": config.flat_band,
            "objective": config.objective,
            # every ta-v2 input is computed from closes alone: a close-only panel trains the
            # same model as OHLCV bars (the strategy's ATR stop falls back to a close range)
            "close_only": all(bool(df.attrs.get("close_only")) for df in frames),
            "training": training,
            "cv": result.cv_summary(),
            "versions": package_versions(),
        },
        calibrations=result.calibrations,
    )
    return path, result


def cross_validate(
    frames: Sequence[pd.DataFrame],
    model_config: ModelConfig,
    config: TrainConfig,
    progress: bool = False,
    segments: Sequence[Segment] | None = None,
) -> CVReport | PositionCVReport:
    """The nested CV table of ``frames`` (one per symbol): the AttentionLSTM and the baselines
    on the same outer folds, each scored once (``CVReport.table()``, ``.warnings()``)."""
    segs = list(segments) if segments is not None else [segment_of(df, config) for df in frames]
    return trainer_for(model_config, config, progress).cross_validate(segs)
