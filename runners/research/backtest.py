"""Backtest a model on bars and write its report: ``run_backtest(BacktestConfig) ->
BacktestResult``.

    result = run_backtest(BacktestConfig(data="sample:orcl-1995-2014.txt", model="orcl-model",
                                         start="2010-01-01"))
    result.metrics["strategy"]["sharpe"], result.trades, result.out

``plan_backtest`` loads the bars and the model (or plans the default one: cached, or trained on
the first ``train_fraction`` of the bars) and checks everything that can fail on bad input
before any work; ``execute_backtest`` then trains or loads the default model, backtests, scores
the model beside the simple rules on the same bars and costs, and writes the report atomically.
``run_backtest`` does both.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from bt_attention_lstm.models.artifact import Artifact, load_artifact
from bt_attention_lstm.models.data import infer_periods_per_year, infer_timeframe, select_range
from bt_attention_lstm.models.features.compute import warmup_bars
from bt_attention_lstm.reports.backtest_metrics import warn_if_in_sample
from bt_attention_lstm.reports.rule_comparison import RuleComparison
from bt_attention_lstm.runners.research.cerebro import BrokerConfig, CerebroRun, run_cerebro
from bt_attention_lstm.runners.research.default_model import (
    DEFAULT_MODEL_SIZES,
    DefaultModelPlan,
    default_model,
    default_model_plan,
)
from bt_attention_lstm.runners.research.evaluation.beside_rules import model_beside_rules
from bt_attention_lstm.runners.research.inputs import (
    check_data_kind,
    check_date_range,
    check_timeframe,
    load_frames,
    prepare_out_dir,
    require_bars,
)
from bt_attention_lstm.runners.research.reporting import (
    build_metrics,
    no_trade_reason,
    write_report,
)
from bt_attention_lstm.strategies.config import entry_threshold

logger = logging.getLogger(__name__)

WARMUP_REASON = "feature warm-up + sequence length + bars to trade"


@dataclass(frozen=True)
class BacktestConfig:
    """One backtest. ``data``: a file, ``sample:FILE`` or ``FILE#SYMBOL`` (None with no
    ``symbol``: the built-in synthetic market); bars before ``start`` only warm the features and
    the model up. ``model``: an artifact directory; None trains (or takes from the cache) a
    small model on the first ``train_fraction`` of the bars and trades the rest.
    ``strategy_params``: AttentionLSTMStrategy params (``periods_per_year`` is inferred from
    the bars). ``out``: the report folder (new or empty); None: a fresh run folder."""

    data: str | None = None
    format: str = "auto"
    symbol: str | None = None
    start: str | None = None
    end: str | None = None
    timeframe: str | None = None
    model: str | Path | None = None
    train_fraction: float = 0.6
    allow_timeframe_mismatch: bool = False
    broker: BrokerConfig = BrokerConfig()
    strategy_params: Mapping[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    runonce: bool = True  # batched inference; False: per bar, as a live feed runs
    preload: bool = True  # False: bars fed one at a time (implies runonce False)
    html: bool = True  # the quantstats tear sheet
    out: Path | str | None = None
    progress: bool = False


@dataclass
class BacktestPlan:
    """The checked bars and model of one backtest, and its run folder; ``artifact`` is None
    while the default model is only planned (``default_plan``)."""

    config: BacktestConfig
    df: pd.DataFrame
    artifact: Artifact | None
    default_plan: DefaultModelPlan | None
    start: pd.Timestamp  # first traded bar
    train_fraction: float
    out: Path

    @property
    def traded_bars(self) -> int:
        return int((self.df.index >= self.start).sum())

    @property
    def first_traded(self) -> str:
        """The first traded bar's date (or time, intraday)."""
        first = self.df.index[self.df.index >= self.start][0]
        return str(first.date()) if first == first.normalize() else str(first)


@dataclass(frozen=True)
class BacktestResult:
    """A finished backtest: metrics.json's content, the run's series and trades, the model beside
    the simple rules, and where the report was written."""

    metrics: dict[str, Any]
    run: CerebroRun
    comparison: RuleComparison
    artifact: Artifact
    default_model: bool  # no ``model`` was given: the default one traded
    cached: bool  # the default model came from the cache (False: trained by this call)
    threshold: float  # the effective entry threshold
    no_trade_reason: str | None  # why no trade was made, when none was and it can be told
    start: pd.Timestamp  # the first traded bar
    symbol: str
    out: Path

    @property
    def returns(self) -> pd.DataFrame:
        return self.run.returns

    @property
    def trades(self) -> pd.DataFrame:
        return self.run.trades

    @property
    def in_sample(self) -> bool:
        return bool(self.metrics["in_sample"])


def symbol_of(df: pd.DataFrame) -> str:
    """The traded series' name: its symbol, else its file's stem."""
    return str(df.attrs.get("symbol") or Path(str(df.attrs.get("source", "data"))).stem)


def plan_backtest(config: BacktestConfig) -> BacktestPlan:
    """Check the run folder, load the bars (keeping those before ``start``: they warm features
    and the model up without being traded) and the model, or plan the default one. Every check
    that can fail on bad input runs here, before anything is written."""
    check_date_range(config.start, config.end)
    out = prepare_out_dir(config.out, command="backtest")
    df = load_frames(
        config.data, format=config.format, symbol=config.symbol, end=config.end,
        timeframe=config.timeframe,
    )[0]
    if config.start:
        select_range(df, config.start, None)  # fails clearly when nothing is left to trade
    if config.model is not None:
        artifact = load_artifact(config.model)
        check_timeframe(artifact.meta, df, config.allow_timeframe_mismatch)
        check_data_kind(artifact, df)
        start = pd.Timestamp(config.start) if config.start else df.index[0]
        df = require_bars(df, warmup_bars(artifact.feature_spec) + artifact.seq_len + 1,
                          WARMUP_REASON)
        return BacktestPlan(config, df, artifact, None, start, config.train_fraction, out)
    needed = warmup_bars() + int(DEFAULT_MODEL_SIZES["seq_len"]) + 1
    df = require_bars(df, needed, WARMUP_REASON)
    plan = default_model_plan(df, config.train_fraction, config.device)
    start = plan.oos_start
    if config.start:
        start = max(start, pd.Timestamp(config.start))
    return BacktestPlan(config, df, None, plan, start, config.train_fraction, out)


def run_backtest(config: BacktestConfig) -> BacktestResult:
    """Check, backtest and write the report: ``execute_backtest(plan_backtest(config))``."""
    return execute_backtest(plan_backtest(config))


def execute_backtest(plan: BacktestPlan) -> BacktestResult:
    """Backtest as ``plan`` says (trained or loaded default model first) and write the report
    into ``plan.out``."""
    config, df, start = plan.config, plan.df, plan.start
    cached = True
    artifact = plan.artifact
    if artifact is None:
        artifact, _, cached = default_model(
            df, plan.train_fraction, config.device, config.progress
        )
    periods_per_year = infer_periods_per_year(df.index)
    params = {"device": config.device, **config.strategy_params,
              "periods_per_year": periods_per_year}
    with tqdm(total=plan.traded_bars, desc="backtest", unit="bar",
              disable=not config.progress) as bar:
        run = run_cerebro(
            df, artifact, params, config.broker, trade_start=start,
            runonce=config.runonce and config.preload, preload=config.preload,
        )
        bar.update(plan.traded_bars)
    metrics = build_metrics(run, artifact, periods_per_year, infer_timeframe(df.index))
    allow_short = bool(params.get("allow_short", False))
    comparison = model_beside_rules(
        {symbol_of(df): df}, artifact, start, allow_short=allow_short,
        cost=config.broker.commission, periods_per_year=periods_per_year,
        target_vol=params.get("target_vol", 0.15),
    )
    metrics["rules"] = comparison.to_dict()
    warn_if_in_sample(metrics, artifact)
    title = (
        f"AttentionLSTM on {Path(str(df.attrs.get('source', 'data'))).name} "
        f"{metrics['period']['start']}..{metrics['period']['end']} "
        f"(model {artifact.weights_sha256[:8]})"
    )
    threshold = entry_threshold(artifact, params.get("threshold"), params.get("sizing"))
    out = write_report(plan.out, run, metrics, threshold, periods_per_year, title,
                       html=config.html, comparison=comparison)
    return BacktestResult(
        metrics=metrics, run=run, comparison=comparison, artifact=artifact,
        default_model=plan.default_plan is not None, cached=cached, threshold=threshold,
        no_trade_reason=no_trade_reason(run, artifact, threshold, allow_short),
        start=start, symbol=symbol_of(df), out=out,
    )
