"""Run AttentionLSTMStrategy over a DataFrame in a fresh Cerebro and collect what reports need.

This is what the runners (backtest, walk-forward, audit, benchmark) call. Users with their own
Cerebro add ``AttentionLSTMStrategy`` directly instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import backtrader as bt
import pandas as pd

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.models.errors import DataError
from bt_attention_lstm.reports.errors import ReportError
from bt_attention_lstm.reports.run_result import derive_run
from bt_attention_lstm.strategies.attention_lstm import AttentionLSTMStrategy

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerConfig:
    cash: float = 100_000.0
    commission: float = 0.001  # fraction of traded value
    slippage: float = 0.0005  # fraction of price, against the trader


@dataclass
class CerebroRun:
    """Per-bar series from ``trade_start`` on, plus the trades and run facts."""

    returns: pd.DataFrame  # columns strategy, benchmark (simple returns per bar)
    equity: pd.Series
    trades: pd.DataFrame
    confidence: pd.Series
    edge: pd.Series  # confidence beyond the model's base rate: what the strategy traded
    price: pd.Series
    exposure: float
    final_value: float
    bt_max_drawdown: float  # backtrader's DrawDown analyzer, as a fraction (<= 0)
    n_orders: int
    open_orders: int
    facts: dict[str, Any] = field(default_factory=dict)


def bar_timeframe(index: pd.DatetimeIndex) -> tuple[int, int]:
    """backtrader (timeframe, compression) of the bar spacing."""
    spacing = pd.Series(index).diff().median()
    minutes = spacing / pd.Timedelta(minutes=1)
    if minutes < 1:
        return bt.TimeFrame.Seconds, max(1, int(round(spacing / pd.Timedelta(seconds=1))))
    if minutes < 24 * 60 * 0.9:
        return bt.TimeFrame.Minutes, max(1, int(round(minutes)))
    if spacing < pd.Timedelta(days=5):
        return bt.TimeFrame.Days, 1
    if spacing < pd.Timedelta(days=25):
        return bt.TimeFrame.Weeks, 1
    return bt.TimeFrame.Months, 1


def pandas_feed(df: pd.DataFrame, name: str = "data0") -> bt.feeds.PandasData:
    timeframe, compression = bar_timeframe(df.index)
    return bt.feeds.PandasData(
        dataname=df,
        name=name,
        timeframe=timeframe,
        compression=compression,
        open="open",
        high="high",
        low="low",
        close="close",
        volume="volume",
        openinterest=None,
    )


def run_cerebro(
    df: pd.DataFrame,
    artifact: Artifact,
    strategy_params: dict[str, Any] | None = None,
    broker: BrokerConfig = BrokerConfig(),  # noqa: B008 - frozen dataclass, safe default
    trade_start: pd.Timestamp | None = None,
    runonce: bool = True,
    preload: bool = True,
    name: str = "data0",
) -> CerebroRun:
    """Backtest ``df`` (with any warm-up history before ``trade_start``) and collect results.

    Bars before ``trade_start`` only warm the features and the model up: no orders, and the
    returns series starts at ``trade_start``.
    """
    start = pd.Timestamp(trade_start) if trade_start is not None else df.index[0]
    if (df.index >= start).sum() < 2:
        raise DataError(f"fewer than two bars to trade from {start}")
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce, preload=preload)
    cerebro.adddata(pandas_feed(df, name))
    cerebro.broker.setcash(broker.cash)
    cerebro.broker.setcommission(commission=broker.commission)
    if broker.slippage:
        cerebro.broker.set_slippage_perc(broker.slippage)
    params = dict(strategy_params or {})
    params.setdefault("trade_start", start.to_pydatetime())
    cerebro.addstrategy(AttentionLSTMStrategy, artifact=artifact, **params)
    cerebro.addanalyzer(bt.analyzers.DrawDown, _name="drawdown")  # read by derive_run
    strat = cerebro.run()[0]
    return collect_result(df, strat, start, broker.cash)


def collect_result(
    df: pd.DataFrame, strat: AttentionLSTMStrategy, start: pd.Timestamp, cash: float
) -> CerebroRun:
    """The CerebroRun of a finished run over ``df`` (``reports.run_result.derive_run``: the
    one derivation every report uses): returns from ``start`` on, against buy-and-hold of the
    traded feed; ``cash`` is the value before the first traded bar when nothing came before."""
    try:
        run = derive_run(strat, start=start, cash=cash)
    except ReportError as exc:
        raise DataError(f"{exc} (the data has {len(df)} bars)") from None
    return CerebroRun(
        returns=run.returns,
        equity=run.equity,
        trades=run.trades,
        confidence=run.confidence,
        edge=run.edge,
        price=run.price,
        exposure=run.exposure,
        final_value=run.final_value,
        bt_max_drawdown=run.max_drawdown,
        n_orders=run.n_orders,
        open_orders=run.open_orders,
    )
