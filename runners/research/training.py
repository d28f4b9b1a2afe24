"""Train an AttentionLSTM with nested time-series CV and write its artifact:
``train(TrainRunConfig) -> TrainResult``.

    result = train(TrainRunConfig(data=["sample:orcl-1995-2014.txt"], end="2009-12-31",
                                  training=TrainConfig(epochs=20)))
    result.out        # the artifact folder (model.safetensors + meta.json)
    result.cv         # the nested CV table: the model beside its baselines, fold by fold

``plan_training`` loads and checks the bars and the output folder before any work;
``execute_training`` then computes the features (one worker process per symbol when there are
several), trains, and writes the artifact atomically. ``train`` does both.

Light at import (no pandas, no torch): the package imports it to export ``train``, the function,
under the module's own name.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bt_attention_lstm.models.config import ModelConfig, TrainConfig
from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.runners.research.inputs import (
    check_date_range,
    check_training_timeframes,
    expand_sources,
    load_frames,
    prepare_out_dir,
    require_bars,
)

if TYPE_CHECKING:
    import pandas as pd

    from bt_attention_lstm.models.artifact import Artifact
    from bt_attention_lstm.models.training.classifier import TrainingResult
    from bt_attention_lstm.models.training.position import PositionTrainingResult

logger = logging.getLogger(__name__)

BARS_REASON = "feature warm-up + sequence length + label horizon + CV folds"


def default_architecture() -> ModelConfig:
    """The network's default sizes over the current feature set."""
    return ModelConfig(n_features=FeatureSpec().n_features)


@dataclass(frozen=True)
class TrainRunConfig:
    """One training run. ``data``: one source or several (files, folders, ``sample:FILE``,
    ``FILE#SYMBOL``; one model is trained on every symbol; None with no ``symbol``: the built-in
    synthetic market); ``start``/``end``: the bars to train on. ``model``: the architecture;
    ``training``: the optimisation, CV and device. ``out``: the artifact folder (new or empty,
    or replaced with ``force``); None: a fresh run folder."""

    model: ModelConfig = field(default_factory=default_architecture)
    training: TrainConfig = field(default_factory=TrainConfig)
    data: str | Sequence[str] | None = None
    format: str = "auto"
    symbol: str | None = None
    start: str | None = None
    end: str | None = None
    timeframe: str | None = None
    allow_timeframe_mismatch: bool = False
    out: Path | str | None = None
    force: bool = False
    progress: bool = False


@dataclass(frozen=True)
class TrainingPlan:
    """The checked bars (one frame per symbol), their sources and the artifact folder."""

    config: TrainRunConfig
    frames: list[pd.DataFrame]
    sources: list[str]  # one per symbol, folders and wide files expanded
    out: Path


@dataclass(frozen=True)
class TrainResult:
    """A trained artifact: where it is, its meta.json, and the nested CV evidence."""

    out: Path  # the artifact folder
    meta: dict[str, Any]
    cv: dict[str, Any]  # the nested CV summary (``cv_report.cv_table_lines`` reads it)
    warnings: list[str]  # the CV verdict's warnings ("the model did not beat ...")
    training: TrainingResult | PositionTrainingResult  # the trainer's, per fold and final
    sources: list[str]
    start: pd.Timestamp  # first and last bar trained on
    end: pd.Timestamp

    @property
    def artifact(self) -> Artifact:
        """The artifact, loaded (``models.artifact.load_artifact``)."""
        from bt_attention_lstm.models.artifact import load_artifact

        return load_artifact(self.out)


def _sources(config: TrainRunConfig) -> list[str] | None:
    if config.data is None:
        return None
    given = [config.data] if isinstance(config.data, str) else list(config.data)
    return expand_sources(given)  # a folder means every data file in it


def plan_training(config: TrainRunConfig) -> TrainingPlan:
    """Check the dates and the artifact folder, load the bars (one frame per symbol) and check
    there are enough of one bar size, before any work."""
    from bt_attention_lstm.models.training.pipeline import min_training_bars

    check_date_range(config.start, config.end)
    out = prepare_out_dir(config.out, force=config.force, command="train")
    needed = min_training_bars(config.model, config.training)
    sources = _sources(config)
    frames = [
        require_bars(df, needed, BARS_REASON)
        for df in load_frames(
            sources, format=config.format,
            symbol=config.symbol, start=config.start, end=config.end,
            timeframe=config.timeframe,
        )
    ]
    check_training_timeframes(frames, config.allow_timeframe_mismatch)  # one model, one bar size
    shown = sources or [str(df.attrs.get("source", "data")) for df in frames]
    return TrainingPlan(config, frames, shown, out)


def train(config: TrainRunConfig) -> TrainResult:
    """Check, train and write the artifact: ``execute_training(plan_training(config))``."""
    return execute_training(plan_training(config))


def execute_training(plan: TrainingPlan) -> TrainResult:
    """Train as ``plan`` says and write the artifact into ``plan.out``."""
    from bt_attention_lstm.models.training.cv_report import cv_warnings
    from bt_attention_lstm.models.training.multi_symbol import parallel_segments
    from bt_attention_lstm.models.training.pipeline import train_and_save
    from bt_attention_lstm.models.training.progress import training_bar

    config, frames = plan.config, plan.frames
    # Several symbols: one Segment each, computed in worker processes; windows stay inside one.
    segments = parallel_segments(frames, config.training) if len(frames) > 1 else None
    if segments is not None:
        logger.info("training one model on %d symbols", len(frames))
    with training_bar(config.training, config.progress):
        path, result = train_and_save(
            frames, config.model, config.training, plan.out, progress=False, segments=segments
        )
    summary = result.cv_summary()
    return TrainResult(
        out=Path(path),
        meta=json.loads((Path(path) / "meta.json").read_text()),
        cv=summary,
        warnings=cv_warnings(summary),
        training=result,
        sources=plan.sources,
        start=min(df.index[0] for df in frames),
        end=max(df.index[-1] for df in frames),
    )
