"""One walk-forward fold as a self-contained job: train on the fold's past, trade its test window.

``run_fold`` is a module-level function of a picklable ``FoldJob`` so that a process pool or a
Ray worker can run it; it returns plain pandas objects and numbers.
"""

from __future__ import annotations

import logging
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bt_attention_lstm.models.artifact import load_artifact
from bt_attention_lstm.models.device import torch_threads
from bt_attention_lstm.models.nn.network import ModelConfig
from bt_attention_lstm.models.training.classifier import TrainConfig
from bt_attention_lstm.models.training.pipeline import train_and_save
from bt_attention_lstm.runners.research.cerebro import BrokerConfig, run_cerebro
from bt_attention_lstm.runners.research.walkforward.plan import FoldPlan

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FoldSettings:
    """What every fold of one walk-forward shares."""

    model_config: ModelConfig
    train_config: TrainConfig
    strategy_params: dict[str, Any]
    broker: BrokerConfig
    periods_per_year: float


@dataclass(frozen=True)
class FoldJob:
    plan: FoldPlan
    bars: pd.DataFrame  # the data's bars [plan.train_start, plan.test_end)
    settings: FoldSettings
    threads: int = 1  # torch intra-op threads for this job
    keep_dir: str | None = None  # keep the fold's artifact here (else a deleted temp dir)


@dataclass
class FoldOutcome:
    """A fold's out-of-sample backtest and what it was trained on."""

    plan: FoldPlan
    train_range: tuple[str, str]
    test_range: tuple[str, str]
    val_loss: float | None
    weights_sha256: str
    returns: pd.DataFrame  # strategy / benchmark simple returns over the test window
    trades: pd.DataFrame
    edge: pd.Series  # each fold's own model: confidence beyond its base rate
    price: pd.Series
    exposure: float
    final_value: float
    bt_max_drawdown: float
    open_orders: int
    oos_sharpe: float | None  # annualised
    model_path: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def n_trades(self) -> int:
        return int(len(self.trades))

    @property
    def oos_return(self) -> float:
        return float(np.prod(1.0 + self.returns["strategy"].to_numpy()) - 1.0)


def fold_bars(df: pd.DataFrame, plan: FoldPlan) -> pd.DataFrame:
    """The bars a fold job needs: its training window, the gap and its test window."""
    bars = df.iloc[plan.train_start : plan.test_end]
    bars.attrs = dict(df.attrs)
    return bars


def per_period_sharpe(returns: pd.Series | np.ndarray) -> float | None:
    """mean / std (ddof=1) of per-bar returns; None when undefined (flat or too short)."""
    x = np.asarray(returns, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2 or np.all(x == x[0]):
        return None
    std = float(np.std(x, ddof=1))
    return float(np.mean(x)) / std if std > 0 else None


def annualised_sharpe(returns: pd.Series | np.ndarray, periods_per_year: float) -> float | None:
    """Per-period Sharpe x sqrt(bars per year): quantstats' ``sharpe(rf=0)``."""
    sr = per_period_sharpe(returns)
    return None if sr is None else sr * math.sqrt(periods_per_year)


def _day(ts: pd.Timestamp) -> str:
    return str(ts.date()) if ts == ts.normalize() else str(ts)


def run_fold(job: FoldJob) -> FoldOutcome:
    """Train on the fold's training window, then backtest its test window.

    The backtest starts at the training window's first bar, so features and the model's input
    window are warmed up on history, but no order is placed before the first test bar.
    """
    plan, settings, bars = job.plan, job.settings, job.bars
    train = bars.iloc[: plan.train_bars]
    train.attrs = dict(bars.attrs)
    test_start = bars.index[plan.test_start - plan.train_start]
    with torch_threads(job.threads), tempfile.TemporaryDirectory(prefix="wf-fold-") as tmp:
        out = Path(job.keep_dir) if job.keep_dir else Path(tmp) / "model"
        path, result = train_and_save(
            [train], settings.model_config, settings.train_config, out, progress=False
        )
        artifact = load_artifact(path)
        params = {**settings.strategy_params, "periods_per_year": settings.periods_per_year}
        bt = run_cerebro(bars, artifact, params, settings.broker, trade_start=test_start)
    logger.info("fold %d: trained on %d bars, traded %d", plan.fold, len(train), len(bt.returns))
    return FoldOutcome(
        plan=plan,
        train_range=(_day(train.index[0]), _day(train.index[-1])),
        test_range=(_day(bt.returns.index[0]), _day(bt.returns.index[-1])),
        val_loss=cv_loss(result.cv_summary()),
        weights_sha256=artifact.weights_sha256,
        returns=bt.returns,
        trades=bt.trades,
        edge=bt.edge,
        price=bt.price,
        exposure=bt.exposure,
        final_value=bt.final_value,
        bt_max_drawdown=bt.bt_max_drawdown,
        open_orders=bt.open_orders,
        oos_sharpe=annualised_sharpe(bt.returns["strategy"], settings.periods_per_year),
        model_path=str(path) if job.keep_dir else None,
    )


def cv_loss(summary: dict[str, object]) -> float | None:
    """The in-training CV loss, lower is better: the classifier's mean log-loss, or minus the
    position head's mean out-of-fold portfolio Sharpe."""
    if summary.get("objective") == "sharpe":
        sharpe = summary.get("mean_val_sharpe")
        return -float(sharpe) if isinstance(sharpe, int | float) else None
    loss = summary.get("mean_val_log_loss")
    return float(loss) if isinstance(loss, int | float) else None


def fold_jobs(
    df: pd.DataFrame,
    plans: list[FoldPlan],
    settings: FoldSettings,
    threads: int = 1,
    keep_root: Path | None = None,
) -> list[FoldJob]:
    return [
        FoldJob(
            plan,
            fold_bars(df, plan),
            settings,
            threads,
            str(keep_root / f"fold-{plan.fold:03d}") if keep_root else None,
        )
        for plan in plans
    ]
