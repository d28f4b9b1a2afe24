"""Trading baselines, run in backtrader through the same broker (cash, commission, slippage) and
the same out-of-sample range as the AttentionLSTM strategy.

- ``buy_and_hold``: ``max_position`` of equity, bought at the first out-of-sample bar, held.
- ``sma_crossover``: long ``max_position`` while SMA(20) > SMA(50), flat otherwise.
- ``tsmom``: time-series momentum (Moskowitz, Ooi & Pedersen, 2012; the baseline of Lim et al.,
  2019), long-only: long while the 252-bar return is positive, sized to a volatility target
  (``target_vol`` / ex-ante volatility, an EW std of daily returns with span 60, capped at
  ``max_position``), rebalanced when the target moves by more than ``band``.

Every order is decided on a bar's close and filled at the next bar's open, as for the model.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from bt_attention_lstm.runners.research.cerebro import BrokerConfig, pandas_feed

logger = logging.getLogger(__name__)


class TargetWeightStrategy(bt.Strategy):
    """Holds ``target_weight()`` of equity from ``trade_start`` on; trades only when the target
    switches between flat and long, or moves by more than ``band``."""

    params: tuple[tuple[str, Any], ...] = (
        ("trade_start", None),
        ("max_position", 0.95),
        ("band", 0.1),
        ("periods_per_year", 252.0),
    )

    def __init__(self) -> None:
        self.order: bt.Order | None = None
        self.n_entries = 0

    def target_weight(self) -> float:
        raise NotImplementedError

    def notify_order(self, order: bt.Order) -> None:
        if order.status in (order.Completed, order.Canceled, order.Margin, order.Rejected):
            self.order = None

    def next(self) -> None:
        if self.p.trade_start is not None and self.datetime.datetime(0) < self.p.trade_start:
            return
        if self.order is not None:
            return
        target = self.target_weight()
        if not math.isfinite(target):
            return
        value = self.broker.getvalue()
        current = self.position.size * self.data.close[0] / value if value > 0 else 0.0
        switches = (target > 0) != (current > 0)
        if switches or abs(target - current) > self.p.band:
            if target > 0 and current <= 0:
                self.n_entries += 1
            self.order = self.order_target_percent(target=target)


class BuyAndHold(TargetWeightStrategy):
    def target_weight(self) -> float:
        return float(self.p.max_position)


class SmaCrossover(TargetWeightStrategy):
    params = (("fast", 20), ("slow", 50))

    def __init__(self) -> None:
        super().__init__()
        self.fast = bt.indicators.SMA(self.data.close, period=self.p.fast)
        self.slow = bt.indicators.SMA(self.data.close, period=self.p.slow)

    def target_weight(self) -> float:
        return float(self.p.max_position) if self.fast[0] > self.slow[0] else 0.0


class TimeSeriesMomentum(TargetWeightStrategy):
    params = (("lookback", 252), ("vol_span", 60), ("target_vol", 0.15))

    def __init__(self) -> None:
        super().__init__()
        self.addminperiod(self.p.lookback + 1)
        # EW weights of the last 4 spans of returns (older ones weigh < e^-8 together).
        alpha = 2.0 / (self.p.vol_span + 1.0)
        n = 4 * self.p.vol_span
        self._weights = (1.0 - alpha) ** np.arange(n - 1, -1, -1)

    def target_weight(self) -> float:
        close = np.asarray(self.data.close.get(size=self.p.lookback + 1), dtype=float)
        if close.size < self.p.lookback + 1 or not close[-1] > close[0]:
            return 0.0
        returns = np.diff(np.log(close))[-self._weights.size :]
        w = self._weights[-returns.size :]
        daily_vol = math.sqrt(float(np.sum(w * returns * returns) / np.sum(w)))
        if not daily_vol > 0:
            return float(self.p.max_position)
        annual_vol = daily_vol * math.sqrt(self.p.periods_per_year)
        return float(min(self.p.max_position, self.p.target_vol / annual_vol))


TRADING_BASELINES: dict[str, type[TargetWeightStrategy]] = {
    "buy_and_hold": BuyAndHold,
    "sma_crossover": SmaCrossover,
    "tsmom": TimeSeriesMomentum,
}


def run_trading_baseline(
    df: pd.DataFrame,
    strategy: type[TargetWeightStrategy],
    broker: BrokerConfig,
    trade_start: pd.Timestamp,
    **params: Any,
) -> tuple[pd.Series, int]:
    """(per-bar simple returns from ``trade_start`` on, number of entries)."""
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(pandas_feed(df))
    cerebro.broker.setcash(broker.cash)
    cerebro.broker.setcommission(commission=broker.commission)
    if broker.slippage:
        cerebro.broker.set_slippage_perc(broker.slippage)
    cerebro.addstrategy(strategy, trade_start=trade_start.to_pydatetime(), **params)
    cerebro.addanalyzer(bt.analyzers.TimeReturn, _name="returns")
    strat = cerebro.run()[0]
    returns = pd.Series(strat.analyzers.returns.get_analysis(), dtype=float)
    returns.index = pd.DatetimeIndex(returns.index)
    return returns[returns.index >= trade_start], strat.n_entries
