"""One sweep trial: a configuration scored by its walk-forward out-of-sample Sharpe ratio.

A trial never sees its test windows while training: every fold is a walk-forward fold
(``runners.research.walkforward.fold``), and the
score is the Sharpe ratio of the stitched out-of-sample
returns. The folds run one after another so that a scheduler (ASHA) can read the running score
after each one and stop a poor trial early.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from bt_attention_lstm.models.errors import PluginError
from bt_attention_lstm.models.nn.network import ModelConfig
from bt_attention_lstm.models.training.classifier import TrainConfig
from bt_attention_lstm.runners.research.cerebro import BrokerConfig
from bt_attention_lstm.runners.research.walkforward.fold import (
    FoldOutcome,
    FoldSettings,
    annualised_sharpe,
    fold_jobs,
    per_period_sharpe,
    run_fold,
)
from bt_attention_lstm.runners.research.walkforward.plan import FoldPlan
from bt_attention_lstm.runners.research.walkforward.stitch import stitch

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepSettings:
    """What every trial shares: the folds, the fixed training and trading settings."""

    plans: list[FoldPlan]
    train_config: TrainConfig  # lr comes from the trial
    n_features: int
    strategy_params: dict[str, Any]  # threshold comes from the trial
    broker: BrokerConfig
    periods_per_year: float
    threads: int = 1  # torch threads per trial


@dataclass
class TrialScore:
    oos_sharpe: float | None  # annualised, of the stitched out-of-sample returns
    oos_sharpe_per_period: float | None
    val_loss: float | None  # mean over folds of the in-training CV loss (fold.cv_loss)
    n_trades: int
    folds_completed: int
    returns: pd.Series = field(repr=False)  # stitched out-of-sample strategy returns

    def report(self) -> dict[str, Any]:
        """Scalars for a scheduler: an undefined Sharpe (never traded) counts as 0."""
        return {
            "oos_sharpe": self.oos_sharpe or 0.0,
            "oos_sharpe_per_period": self.oos_sharpe_per_period or 0.0,
            "sharpe_defined": self.oos_sharpe is not None,
            "val_loss": self.val_loss if self.val_loss is not None else float("nan"),
            "n_trades": self.n_trades,
            "folds_completed": self.folds_completed,
        }


@dataclass
class TrialRecord:
    trial_id: str
    params: dict[str, Any]
    status: str  # completed | stopped early (ASHA) | error: ...
    score: TrialScore | None


@dataclass(frozen=True)
class TrialJob:
    trial_id: str
    params: dict[str, Any]
    bars: pd.DataFrame
    settings: SweepSettings


def fold_settings(params: dict[str, Any], settings: SweepSettings) -> FoldSettings:
    model_config = ModelConfig(
        n_features=settings.n_features,
        hidden=int(params["hidden"]),
        layers=int(params["layers"]),
        heads=int(params["heads"]),
        dropout=float(params["dropout"]),
        seq_len=int(params["seq_len"]),
    )
    train_config = replace(settings.train_config, lr=float(params["lr"]))
    strategy = {**settings.strategy_params, "threshold": float(params["threshold"])}
    return FoldSettings(
        model_config, train_config, strategy, settings.broker, settings.periods_per_year
    )


def iterate_folds(
    bars: pd.DataFrame, params: dict[str, Any], settings: SweepSettings
) -> Iterator[FoldOutcome]:
    """The trial's walk-forward folds, in time order, in this process."""
    jobs = fold_jobs(bars, settings.plans, fold_settings(params, settings), settings.threads)
    for job in jobs:
        yield run_fold(job)


def score(outcomes: list[FoldOutcome], bars: pd.DataFrame, settings: SweepSettings) -> TrialScore:
    stitched = stitch(outcomes, bars["close"], settings.broker.cash)
    returns = stitched.returns["strategy"]
    losses = [o.val_loss for o in outcomes if o.val_loss is not None]
    return TrialScore(
        oos_sharpe=annualised_sharpe(returns, settings.periods_per_year),
        oos_sharpe_per_period=per_period_sharpe(returns),
        val_loss=float(np.mean(losses)) if losses else None,
        n_trades=int(len(stitched.trades)),
        folds_completed=len(outcomes),
        returns=returns,
    )


def run_trial(job: TrialJob) -> TrialRecord:
    """A whole trial (every fold) for a process pool; a failed trial is recorded, not raised."""
    outcomes: list[FoldOutcome] = []
    try:
        for outcome in iterate_folds(job.bars, job.params, job.settings):
            outcomes.append(outcome)
    except PluginError as exc:
        logger.warning("trial %s failed: %s", job.trial_id, exc)
        partial = score(outcomes, job.bars, job.settings) if outcomes else None
        return TrialRecord(job.trial_id, job.params, f"error: {exc}", partial)
    final = score(outcomes, job.bars, job.settings)
    return TrialRecord(job.trial_id, job.params, "completed", final)


def tune_trainable(config: dict[str, Any], bars: pd.DataFrame, settings: SweepSettings) -> None:
    """Ray Tune function trainable: reports the running out-of-sample score after every fold.

    The last report also carries the stitched returns (as plain lists), which the driver needs
    for the deflated Sharpe ratio of the best trial.
    """
    from ray import tune

    outcomes: list[FoldOutcome] = []
    for outcome in iterate_folds(bars, config, settings):
        outcomes.append(outcome)
        current = score(outcomes, bars, settings)
        metrics = current.report()
        if len(outcomes) == len(settings.plans):
            metrics["oos_returns"] = current.returns.to_numpy(dtype=float).tolist()
            metrics["oos_times"] = current.returns.index.as_unit("ns").asi8.tolist()
        tune.report(metrics)


def returns_from_lists(values: list[float], times: list[int]) -> pd.Series:
    index = pd.DatetimeIndex(np.asarray(times, dtype="datetime64[ns]"), name="datetime")
    return pd.Series(np.asarray(values, dtype=float), index=index, name="strategy")
