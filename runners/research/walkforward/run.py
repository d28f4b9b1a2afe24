"""Walk-forward retraining as one call: ``run_walkforward(WalkForwardConfig) -> WalkForwardResult``.

Fold k trains only on bars before its test window (ending at least the label horizon before it),
then trades its ``test_bars`` bars with the history before them as warm-up. Folds run on the
engine; their out-of-sample segments are chained into one equity curve, and ``out`` gets
folds.csv, tearsheet.html, metrics.json (in_sample: false), returns.csv, trades.csv and
chart.png. ``plan_walkforward`` does every check and loads the data without training anything;
``execute_walkforward`` runs a plan (a caller can say what is about to happen in between).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bt_attention_lstm.models.config import ModelConfig, TrainConfig
from bt_attention_lstm.models.data import infer_periods_per_year, infer_timeframe
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.models.training.pipeline import min_training_bars
from bt_attention_lstm.runners.research.cerebro import BrokerConfig
from bt_attention_lstm.runners.research.engines import Engine, make_engine
from bt_attention_lstm.runners.research.inputs import load_frames, prepare_out_dir
from bt_attention_lstm.runners.research.walkforward.fold import (
    FoldOutcome,
    FoldSettings,
    fold_jobs,
    run_fold,
)
from bt_attention_lstm.runners.research.walkforward.plan import FoldPlan, plan_folds
from bt_attention_lstm.runners.research.walkforward.report import write_walkforward_report
from bt_attention_lstm.runners.research.walkforward.stitch import (
    StitchedResult,
    fold_table,
    stitch,
    walkforward_metrics,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WalkForwardConfig:
    """One walk-forward: the bars, the folds, each fold's model and training, the strategy and
    broker every fold trades with, and where the folds run (``engine``: local or ray)."""

    train_bars: int
    test_bars: int
    data: str | None = None  # a file, sample:FILE or FILE#SYMBOL; None: the synthetic market
    format: str = "auto"  # noqa: A003 - the loaders' name for it
    symbol: str | None = None  # a ticker to download instead of ``data``
    start: str | None = None
    end: str | None = None
    timeframe: str | None = None
    step: int | None = None  # bars between test windows (None: back to back)
    expanding: bool = False
    model: ModelConfig = field(
        default_factory=lambda: ModelConfig(n_features=FeatureSpec().n_features)
    )
    training: TrainConfig = field(default_factory=TrainConfig)
    strategy_params: Mapping[str, Any] = field(default_factory=dict)
    broker: BrokerConfig = field(default_factory=BrokerConfig)
    engine: str = "local"
    address: str | None = None
    workers: int | None = None
    out: Path | None = None
    keep_models: bool = False
    html: bool = True
    progress: bool = False


@dataclass
class WalkForwardPlan:
    """A checked walk-forward, ready to run: its bars, folds and (started) engine."""

    config: WalkForwardConfig
    bars: pd.DataFrame
    folds: list[FoldPlan]
    settings: FoldSettings
    engine: Engine
    out: Path


@dataclass
class WalkForwardResult:
    out: Path  # the report folder
    folds: pd.DataFrame  # one row per fold (stitch.FOLD_COLUMNS)
    metrics: dict[str, Any]  # metrics.json's content
    stitched: StitchedResult
    outcomes: list[FoldOutcome]
    engine: str


def check_training_window(folds: list[FoldPlan], needed: int) -> None:
    shortest = min(p.train_bars for p in folds)
    if shortest < needed:
        raise ConfigError(
            f"`train_bars`={shortest} is too few to train on: the model needs at least {needed} "
            "bars (feature warm-up + sequence length + label horizon + CV folds)"
        )


def plan_walkforward(config: WalkForwardConfig) -> WalkForwardPlan:
    """Load the bars, plan the folds and start the engine; every check on the settings runs
    here, before anything is trained or written."""
    out = prepare_out_dir(config.out, command="walkforward")
    bars = load_frames(config.data, format=config.format, symbol=config.symbol,
                       start=config.start, end=config.end, timeframe=config.timeframe)[0]
    horizon = config.training.horizon
    folds = plan_folds(
        len(bars), config.train_bars, config.test_bars, horizon, config.step, config.expanding
    )
    check_training_window(folds, min_training_bars(config.model, config.training))
    periods_per_year = infer_periods_per_year(bars.index)
    params = {**config.strategy_params, "periods_per_year": periods_per_year}
    settings = FoldSettings(config.model, config.training, params, config.broker,
                            periods_per_year)
    engine = make_engine(config.engine, config.address, config.workers)
    return WalkForwardPlan(config, bars, folds, settings, engine, out)


def describe_walkforward(plan: WalkForwardPlan) -> dict[str, Any]:
    """metrics.json's ``model`` facts of the walk-forward itself."""
    config = plan.config
    return {
        "train_bars": config.train_bars,
        "test_bars": config.test_bars,
        "step": config.step or config.test_bars,
        "expanding": bool(config.expanding),
        "gap_bars": config.training.horizon,
        "n_folds": len(plan.folds),
        "architecture": config.model.to_dict(),
        "training": config.training.to_dict(),
        "engine": plan.engine.name,
    }


def chart_threshold(config: WalkForwardConfig) -> float:
    """The chart's threshold lines: the one given, else the default of the folds' models."""
    given = config.strategy_params.get("threshold")
    if given is not None:
        return float(given)
    return 0.2 if config.training.objective == "classify" else 0.0


def execute_walkforward(plan: WalkForwardPlan) -> WalkForwardResult:
    """Train and trade every fold on the plan's engine, stitch them and write the report; the
    engine is closed whatever happens."""
    config, bars, engine = plan.config, plan.bars, plan.engine
    models_dir = None
    try:
        if config.keep_models:
            plan.out.parent.mkdir(parents=True, exist_ok=True)
            models_dir = Path(tempfile.mkdtemp(dir=plan.out.parent, prefix=".tmp-wf-models-"))
        jobs = fold_jobs(bars, plan.folds, plan.settings, engine.threads_per_job(), models_dir)
        outcomes = engine.map(run_fold, jobs, desc="folds", progress=config.progress)
        stitched = stitch(outcomes, bars["close"], config.broker.cash)
        periods_per_year = plan.settings.periods_per_year
        metrics = walkforward_metrics(
            stitched, outcomes, periods_per_year, infer_timeframe(bars.index),
            describe_walkforward(plan),
        )
        folds = fold_table(outcomes)
        source = Path(str(bars.attrs.get("source", "data"))).name
        title = (
            f"AttentionLSTM walk-forward on {source} {metrics['period']['start']}.."
            f"{metrics['period']['end']} ({len(plan.folds)} folds, out of sample)"
        )
        path = write_walkforward_report(
            plan.out, stitched, metrics, folds, chart_threshold(config), periods_per_year, title,
            models_dir, html=config.html,
        )
    finally:
        engine.close()
        if models_dir is not None:
            shutil.rmtree(models_dir, ignore_errors=True)
    return WalkForwardResult(path, folds, metrics, stitched, outcomes, engine.name)


def run_walkforward(config: WalkForwardConfig) -> WalkForwardResult:
    """Plan (check everything), then run the walk-forward and write its report."""
    return execute_walkforward(plan_walkforward(config))
