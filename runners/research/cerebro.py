"""Run AttentionLSTMStrategy over a DataFrame in a fresh Cerebro and collect what reports need.

This is what the runners (backtest, walk-forward, audit, benchmark) call. Users with their own
Cerebro add ``AttentionLSTMStrategy`` directly instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.models.errors import DataError
from bt_attention_lstm.strategies.attention_lstm import AttentionLSTMStrategy
from bt_attention_lstm.strategies.execution.trade_record import TradeRecord

logger = logging.getLogger(__name__)

# The trade record defines the columns; reports put the usual ones first.
TRADE_COLUMNS = [f.name for f in fields(TradeRecord)]


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


class EquityRecorder(bt.Analyzer):
    """Portfolio value at the end of every bar (after that bar's fills)."""

    def start(self) -> None:
        self.values: list[tuple[Any, float]] = []

    def next(self) -> None:
        self.values.append((self.strategy.datetime.datetime(0), self.strategy.broker.getvalue()))

    def get_analysis(self) -> dict[str, Any]:
        return {"values": self.values}


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
    cerebro.addanalyzer(EquityRecorder, _name="equity")
    cerebro.addanalyzer(bt.analyzers.DrawDown, _name="drawdown")
    strat = cerebro.run()[0]
    return collect_result(df, strat, start, broker.cash)


def collect_result(
    df: pd.DataFrame, strat: AttentionLSTMStrategy, start: pd.Timestamp, cash: float
) -> CerebroRun:
    """The CerebroRun of a finished run whose Cerebro had an ``EquityRecorder`` named
    "equity" and a DrawDown analyzer named "drawdown" (``run_cerebro`` and the paper session
    set them up): returns from ``start`` on, against buy-and-hold of ``df``'s close."""
    values = strat.analyzers.equity.get_analysis()["values"]
    equity_all = pd.Series(
        [v for _, v in values], index=pd.DatetimeIndex([t for t, _ in values]), dtype=float
    )
    # The value before the first traded bar is the starting cash: returns start at trade_start.
    before = equity_all[equity_all.index < start]
    base = float(before.iloc[-1]) if len(before) else cash
    equity = equity_all[equity_all.index >= start]
    strategy_returns = equity.pct_change()
    strategy_returns.iloc[0] = equity.iloc[0] / base - 1.0
    close = df["close"]
    benchmark = close.pct_change().reindex(equity.index)
    benchmark.iloc[0] = 0.0
    returns = pd.DataFrame({"strategy": strategy_returns, "benchmark": benchmark})
    returns.index.name = "datetime"
    trades = pd.DataFrame(strat.trade_rows(), columns=TRADE_COLUMNS)
    signal = next(iter(strat.signals.values()))
    confidence = pd.Series(
        np.asarray(signal.confidence.array[: len(df)], dtype=float), index=df.index
    ).reindex(equity.index)
    drawdown = strat.analyzers.drawdown.get_analysis()
    orders = strat.broker.orders
    return CerebroRun(
        returns=returns,
        equity=equity,
        trades=trades,
        confidence=confidence,
        edge=confidence - strat.base_rate,
        price=close.reindex(equity.index),
        exposure=strat.exposure,
        final_value=float(strat.broker.getvalue()),
        bt_max_drawdown=-float(drawdown.max.drawdown) / 100.0,
        n_orders=len(orders),
        open_orders=sum(1 for o in orders if o.alive()),
    )
