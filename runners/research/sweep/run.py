"""A hyperparameter sweep as one call: ``run_sweep(SweepConfig) -> SweepResult``.

Every trial trains and trades the same walk-forward folds with one configuration drawn (seeded)
from the search space; its score is the annualised Sharpe ratio of its stitched out-of-sample
returns, never an in-sample figure. On the ray engine the trials run under Ray Tune with an ASHA
scheduler, which stops a trial whose running score falls behind after a few folds; the local
engine runs the same trials in a process pool, every one to the end. ``out`` gets trials.csv
and best.json (the best configuration, its Sharpe ratio and its deflated Sharpe ratio).
``plan_sweep`` checks everything and loads the data; ``execute_sweep`` runs a plan.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bt_attention_lstm.models.config import ModelConfig, TrainConfig
from bt_attention_lstm.models.data import infer_periods_per_year
from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.models.features.spec import FeatureSpec
from bt_attention_lstm.models.training.pipeline import min_training_bars
from bt_attention_lstm.runners.research.cerebro import BrokerConfig
from bt_attention_lstm.runners.research.engines import Engine, make_engine
from bt_attention_lstm.runners.research.inputs import load_frames, prepare_out_dir
from bt_attention_lstm.runners.research.sweep.report import (
    best_summary,
    trials_table,
    write_sweep_report,
)
from bt_attention_lstm.runners.research.sweep.space import (
    Space,
    max_seq_len,
    sample_configs,
    validate_space,
)
from bt_attention_lstm.runners.research.sweep.trial import (
    SweepSettings,
    TrialJob,
    TrialRecord,
    run_trial,
)
from bt_attention_lstm.runners.research.walkforward.plan import FoldPlan, plan_folds

logger = logging.getLogger(__name__)

ASHA = "ASHA (Ray Tune)"
NO_EARLY_STOPPING = "none (every trial to the end)"


@dataclass(frozen=True)
class SweepConfig:
    """One sweep: the bars, the search space and trials, the walk-forward folds every trial
    runs, the fixed training settings (``training.lr`` is each trial's own), broker and
    strategy (``threshold`` is each trial's own) and the engine."""

    data: str | None = None  # a file, sample:FILE or FILE#SYMBOL; None: the synthetic market
    format: str = "auto"  # noqa: A003 - the loaders' name for it
    symbol: str | None = None
    start: str | None = None
    end: str | None = None
    timeframe: str | None = None
    space: Mapping[str, Any] = field(default_factory=dict)  # entries replacing the default's
    trials: int = 20
    seed: int | None = None  # of the draws from the space (None: ``training.seed``)
    train_bars: int = 1500
    test_bars: int = 500
    step: int | None = None
    expanding: bool = False
    training: TrainConfig = field(default_factory=TrainConfig)
    strategy_params: Mapping[str, Any] = field(default_factory=dict)
    broker: BrokerConfig = field(default_factory=BrokerConfig)
    engine: str = "local"
    address: str | None = None
    workers: int | None = None
    out: Path | None = None
    progress: bool = False

    @property
    def draw_seed(self) -> int:
        return self.training.seed if self.seed is None else self.seed


@dataclass
class SweepPlan:
    """A checked sweep, ready to run: its bars, space, drawn configurations, folds and
    (started) engine."""

    config: SweepConfig
    bars: pd.DataFrame
    space: Space
    configs: list[dict[str, Any]]
    folds: list[FoldPlan]
    settings: SweepSettings
    engine: Engine
    out: Path

    @property
    def scheduler(self) -> str:
        return ASHA if self.engine.name == "ray" else NO_EARLY_STOPPING


@dataclass
class SweepResult:
    out: Path  # the folder with trials.csv and best.json
    trials: pd.DataFrame  # one row per trial (report.TRIAL_COLUMNS)
    best: dict[str, Any]  # best.json's content
    records: list[TrialRecord]
    engine: str
    scheduler: str


def check_training_window(folds: list[FoldPlan], space: Space, training: TrainConfig) -> None:
    """The shortest training window must fit the longest sequence the space can draw."""
    longest = ModelConfig(n_features=FeatureSpec().n_features, seq_len=max_seq_len(space))
    needed = min_training_bars(longest, training)
    shortest = min(p.train_bars for p in folds)
    if shortest < needed:
        raise ConfigError(
            f"`train_bars`={shortest} is too few to train on: with seq_len up to "
            f"{longest.seq_len} the model needs at least {needed} bars"
        )


def plan_sweep(config: SweepConfig) -> SweepPlan:
    """Validate the space, draw the trials, load the bars, plan the folds and start the engine;
    every check runs here, before any trial trains or anything is written."""
    space = validate_space(dict(config.space))
    out = prepare_out_dir(config.out, command="sweep")
    configs = sample_configs(space, config.trials, config.draw_seed)
    bars = load_frames(config.data, format=config.format, symbol=config.symbol,
                       start=config.start, end=config.end, timeframe=config.timeframe)[0]
    folds = plan_folds(len(bars), config.train_bars, config.test_bars, config.training.horizon,
                       config.step, config.expanding)
    check_training_window(folds, space, config.training)
    periods_per_year = infer_periods_per_year(bars.index)
    engine = make_engine(config.engine, config.address, config.workers)
    strategy = {**config.strategy_params, "periods_per_year": periods_per_year}
    settings = SweepSettings(folds, config.training, FeatureSpec().n_features, strategy,
                             config.broker, periods_per_year, engine.threads_per_job())
    return SweepPlan(config, bars, space, configs, folds, settings, engine, out)


def run_trials(plan: SweepPlan) -> list[TrialRecord]:
    """Ray: one Tune trial per configuration, under ASHA. Local: every trial, to the end."""
    engine, progress = plan.engine, plan.config.progress
    if engine.name == "ray":
        from bt_attention_lstm.runners.research.sweep.ray_tune import run_tune

        return run_tune(plan.bars, plan.configs, plan.space, plan.settings, engine.workers,
                        plan.config.draw_seed, progress)
    jobs = [TrialJob(f"local_{i:05d}", c, plan.bars, plan.settings)
            for i, c in enumerate(plan.configs)]
    return engine.map(run_trial, jobs, desc="trials", progress=progress)


def sweep_context(plan: SweepPlan) -> dict[str, Any]:
    """best.json's facts of the sweep itself."""
    config = plan.config
    return {
        "engine": plan.engine.name,
        "scheduler": plan.scheduler,
        "n_folds": len(plan.folds),
        "train_bars": config.train_bars,
        "test_bars": config.test_bars,
        "step": config.step or config.test_bars,
        "expanding": bool(config.expanding),
        "training": {k: v for k, v in config.training.to_dict().items() if k != "lr"},
        "space": plan.space,
        "seed": config.draw_seed,
        "data": str(plan.bars.attrs.get("source", "synthetic")),
    }


def execute_sweep(plan: SweepPlan) -> SweepResult:
    """Run every trial on the plan's engine (closed whatever happens), then write trials.csv
    and best.json."""
    try:
        records = run_trials(plan)
    finally:
        plan.engine.close()
    trials = trials_table(records)
    best = best_summary(records, len(plan.folds), sweep_context(plan))
    path = write_sweep_report(plan.out, trials, best)
    return SweepResult(path, trials, best, records, plan.engine.name, plan.scheduler)


def run_sweep(config: SweepConfig) -> SweepResult:
    """Plan (check everything), then run the sweep and write its results."""
    return execute_sweep(plan_sweep(config))
