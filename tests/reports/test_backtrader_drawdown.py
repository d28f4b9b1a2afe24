"""metrics max_drawdown (quantstats, from TimeReturn) against backtrader's DrawDown analyzer.

Why they are equal: both follow the broker value bar by bar. TimeReturn chains
value_t / value_{t-1} from the starting cash; quantstats rebuilds that equity as a cumulative
product from a phantom 1.0 (the starting cash) before the first bar. DrawDown takes the running
peak of the same values, its first one being the starting cash too (orders fill at the next
bar's open). So max drawdown agrees to rounding.

What is not equal by construction: a TimeReturn on a coarser timeframe than the bars (Days on
5-minute data) sees only period-end values and misses intraday troughs, so its drawdown can
only be smaller in magnitude. Both facts are pinned here.
"""

from __future__ import annotations

from pathlib import Path

import backtrader as bt
import pandas as pd
import pytest

from bt_attention_lstm.reports import buy_and_hold_returns, compute_metrics, returns_from_timereturn
from tests.reports.conftest import DATA_DIR, PPY_DAILY


class BuyFirstBar(bt.Strategy):
    """Buys on the first bar, sells half a third of the way in: a path with flat and long parts."""

    def __init__(self) -> None:
        self.bar_times: list = []
        self.closes: list[float] = []

    def next(self) -> None:
        self.bar_times.append(self.data.datetime.datetime(0))
        self.closes.append(self.data.close[0])
        if len(self) == 1:
            self.buy(size=20)
        elif len(self) == len(self.data.array) // 3:
            self.sell(size=10)


def run(filename: str, timeframe: int, compression: int) -> bt.Strategy:
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.broker.setcash(100_000.0)
    cerebro.broker.setcommission(commission=0.001)  # the first fill moves value off the start
    feed = bt.feeds.BacktraderCSVData(
        dataname=str(Path(DATA_DIR) / filename), timeframe=timeframe, compression=compression
    )
    cerebro.adddata(feed)
    cerebro.addstrategy(BuyFirstBar)
    cerebro.addanalyzer(bt.analyzers.TimeReturn, _name="bar_returns")
    cerebro.addanalyzer(bt.analyzers.TimeReturn, _name="day_returns", timeframe=bt.TimeFrame.Days)
    cerebro.addanalyzer(bt.analyzers.DrawDown, _name="drawdown")
    return cerebro.run()[0]


def metrics_from(strategy: bt.Strategy, analyzer: str, periods_per_year: float) -> dict:
    analysis = getattr(strategy.analyzers, analyzer).get_analysis()
    bars = pd.DatetimeIndex(strategy.bar_times)
    if len(analysis) == len(bars):  # one return per bar: align with buy and hold
        strat = returns_from_timereturn(analysis, bar_index=bars)
        bench = buy_and_hold_returns(pd.Series(strategy.closes, index=bars))
        assert strat.index.equals(bench.index)
        returns = pd.concat([strat, bench], axis=1)
    else:  # coarser periods: no bar-level benchmark to pair with
        strat = returns_from_timereturn(analysis)
        returns = pd.DataFrame({"strategy": strat, "benchmark": 0.0})
    return compute_metrics(returns, pd.DataFrame(), 0.0, periods_per_year)


@pytest.mark.parametrize(
    ("filename", "timeframe", "compression", "periods_per_year"),
    [
        ("2006-day-001.txt", bt.TimeFrame.Days, 1, PPY_DAILY),
        ("2006-min-005.txt", bt.TimeFrame.Minutes, 5, PPY_DAILY * 81),
    ],
)
def test_max_drawdown_equals_backtrader_drawdown(
    filename, timeframe, compression, periods_per_year
) -> None:
    strategy = run(filename, timeframe, compression)
    bt_max_dd = -strategy.analyzers.drawdown.get_analysis().max.drawdown / 100.0
    assert bt_max_dd < 0  # the path really has a drawdown
    ours = metrics_from(strategy, "bar_returns", periods_per_year)["strategy"]["max_drawdown"]
    assert ours == pytest.approx(bt_max_dd, rel=1e-9)


def test_coarser_timereturn_cannot_see_a_deeper_drawdown() -> None:
    strategy = run("2006-min-005.txt", bt.TimeFrame.Minutes, 5)
    bt_max_dd = -strategy.analyzers.drawdown.get_analysis().max.drawdown / 100.0
    daily = metrics_from(strategy, "day_returns", PPY_DAILY)["strategy"]["max_drawdown"]
    assert bt_max_dd < daily <= 0  # strictly: this path has an intraday trough
