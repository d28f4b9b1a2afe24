"""AttentionLSTMStrategy on crafted paths with constant-signal models, and on real data."""

from __future__ import annotations

from collections.abc import Callable

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from bt_attention_lstm.models.artifact import Artifact, load_artifact
from bt_attention_lstm.runners.research.cerebro import BrokerConfig, pandas_feed, run_cerebro
from bt_attention_lstm.strategies import AttentionLSTMStrategy
from tests.conftest import DATA_DIR
from tests.strategies.conftest import crafted_market, wiggle

NO_COSTS = BrokerConfig(cash=100_000.0, commission=0.0, slippage=0.0)
QUIET = {"regime_filter": False, "stop_loss": None}


def first_trade(result) -> pd.Series:  # type: ignore[no-untyped-def]
    assert len(result.trades) > 0, "expected at least one trade"
    return result.trades.iloc[0]


def test_stop_loss_fills_at_its_level(signal_artifact: Callable[..., Artifact]) -> None:
    artifact = signal_artifact(0.05, 0.8)
    closes = wiggle(120)
    df = crafted_market(closes)
    drop = 80
    df.iloc[drop, df.columns.get_loc("low")] = df["open"].iloc[drop] * 0.90
    result = run_cerebro(df, artifact, {**QUIET, "stop_loss": 0.05}, NO_COSTS)
    trade = first_trade(result)
    assert trade.exit_reason == "stop"
    assert trade.exit_price == pytest.approx(trade.entry_price * 0.95, rel=1e-12)
    assert pd.Timestamp(trade.exit_time) == df.index[drop]


def test_stop_loss_gap_fills_at_the_open(signal_artifact: Callable[..., Artifact]) -> None:
    artifact = signal_artifact(0.05, 0.8)
    df = crafted_market(wiggle(120))
    gap = 80
    df.iloc[gap, df.columns.get_loc("open")] = df["close"].iloc[gap - 1] * 0.85
    df.iloc[gap, df.columns.get_loc("low")] = df["close"].iloc[gap - 1] * 0.84
    df.iloc[gap, df.columns.get_loc("close")] = df["close"].iloc[gap - 1] * 0.86
    result = run_cerebro(df, artifact, {**QUIET, "stop_loss": 0.05}, NO_COSTS)
    trade = first_trade(result)
    assert trade.exit_reason == "stop"
    assert trade.exit_price == pytest.approx(df["open"].iloc[gap], rel=1e-12)


def test_trailing_stop_follows_the_high_water_mark(
    signal_artifact: Callable[..., Artifact],
) -> None:
    artifact = signal_artifact(0.05, 0.8)
    quiet = wiggle(70)
    up = quiet[-1] * np.cumprod(np.full(30, 1.01))
    down = up[-1] * np.cumprod(np.full(30, 0.985))
    df = crafted_market(np.r_[quiet, up, down], wick=0.0005)
    result = run_cerebro(df, artifact, {**QUIET, "trail_percent": 0.10}, NO_COSTS)
    trade = first_trade(result)
    assert trade.exit_reason == "trail"
    entry_i = df.index.get_loc(pd.Timestamp(trade.entry_time))
    exit_i = df.index.get_loc(pd.Timestamp(trade.exit_time))
    high_water = df["close"].iloc[entry_i:exit_i].max()
    assert high_water > trade.entry_price * 1.2  # the path really rose after entry
    assert trade.exit_price == pytest.approx(high_water * 0.90, rel=1e-9)
    assert trade.exit_price > trade.entry_price  # the stop moved up with the price


def test_take_profit_exits_with_its_reason(signal_artifact: Callable[..., Artifact]) -> None:
    artifact = signal_artifact(0.05, 0.8)
    quiet = wiggle(70)
    up = quiet[-1] * np.cumprod(np.full(30, 1.01))
    df = crafted_market(np.r_[quiet, up])
    result = run_cerebro(df, artifact, {**QUIET, "take_profit": 0.10}, NO_COSTS)
    trade = first_trade(result)
    assert trade.exit_reason == "take-profit"
    assert trade.exit_price >= trade.entry_price * 1.10 - 1e-9


def test_no_order_below_threshold(signal_artifact: Callable[..., Artifact]) -> None:
    artifact = signal_artifact(0.2, 0.3)  # confidence 0.1
    df = crafted_market(wiggle(120))
    weak = run_cerebro(df, artifact, {**QUIET, "threshold": 0.2}, NO_COSTS)
    assert weak.n_orders == 0 and len(weak.trades) == 0
    strong = run_cerebro(df, artifact, {**QUIET, "threshold": 0.05}, NO_COSTS)
    assert strong.n_orders > 0  # the same model trades once the threshold allows it


def test_size_follows_the_confidence_scale(signal_artifact: Callable[..., Artifact]) -> None:
    """confidence sizing: fraction = 0.95 x (0.25 + 0.75 x (edge - threshold) / (1 - threshold))
    of equity at the decision bar's close (threshold 0.2), so the size rises with confidence."""
    df = crafted_market(wiggle(120))
    sizes = []
    for p_up in (0.3, 0.5, 0.9):
        artifact = signal_artifact(0.05, p_up)
        trade = first_trade(run_cerebro(df, artifact, QUIET, NO_COSTS))
        decided = df.index.get_loc(pd.Timestamp(trade.entry_time)) - 1
        edge = p_up - 0.05
        fraction = 0.95 * (0.25 + 0.75 * (edge - 0.2) / 0.8)
        assert trade["size"] == np.floor(fraction * 100_000.0 / df["close"].iloc[decided])
        sizes.append(trade["size"])
    assert sizes[0] < sizes[1] < sizes[2]


def test_shorts_only_when_allowed(signal_artifact: Callable[..., Artifact]) -> None:
    artifact = signal_artifact(0.8, 0.05)  # confidence -0.75
    df = crafted_market(wiggle(120))
    long_only = run_cerebro(df, artifact, QUIET, NO_COSTS)
    assert long_only.n_orders == 0
    shorts = run_cerebro(df, artifact, {**QUIET, "allow_short": True, "stop_loss": 0.05},
                          NO_COSTS)
    assert len(shorts.trades) > 0 and set(shorts.trades.side) == {"short"}


class _Audited(AttentionLSTMStrategy):
    """Records, every bar, what must never happen: orphan protective orders, negative cash,
    a position above max_position at entry."""

    def __init__(self) -> None:
        super().__init__()
        self.orphans: list[tuple[str, int]] = []
        self.min_cash = float("inf")
        self.entry_fractions: list[float] = []

    def next(self) -> None:
        self.min_cash = min(self.min_cash, self.broker.getcash())
        for data in self.datas:
            if self.getposition(data).size == 0:
                alive = [o for o in self.broker.orders if o.data is data and o.alive()
                         and o.exectype != bt.Order.Market]
                if alive:
                    self.orphans.append((data._name, len(data), [
                        (o.ref, o.getordername(), o.getstatusname(),
                         self.orders.registry.reason(o.ref)) for o in alive]))
        super().next()

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Completed and self.order_role(order.ref) == "entry":
            value = self.broker.getvalue()
            self.entry_fractions.append(abs(order.executed.size) * order.executed.price / value)
        super().notify_order(order)


def _run_real(artifact_path: str, runonce: bool, preload: bool, names: tuple[str, ...]):  # type: ignore[no-untyped-def]
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce, preload=preload)
    for name in names:
        cerebro.adddata(bt.feeds.YahooFinanceCSVData(
            dataname=str(DATA_DIR / name), fromdate=pd.Timestamp("2003-01-01").to_pydatetime(),
            todate=pd.Timestamp("2006-12-31").to_pydatetime()), name=name.split("-")[0])
    cerebro.broker.setcash(100_000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addstrategy(_Audited, model_path=artifact_path, threshold=0.05, max_position=0.9,
                        stop_loss=0.04, trail_percent=0.08, take_profit=0.12, allow_short=True)
    strat = cerebro.run()[0]
    return cerebro, strat


@pytest.mark.parametrize("names", [("nvda-1999-2014.txt",),
                                   ("nvda-1999-2014.txt", "yhoo-1996-2014.txt")])
def test_run_modes_agree_and_orders_stay_clean(tiny_artifact, names) -> None:  # type: ignore[no-untyped-def]
    outcomes = []
    for runonce, preload in ((True, True), (False, True), (False, False)):
        cerebro, strat = _run_real(str(tiny_artifact), runonce, preload, names)
        assert strat.orphans == [], "protective orders outlived their position"
        assert strat.min_cash >= 0.0
        assert strat.entry_fractions and max(strat.entry_fractions) <= 0.9 * 1.02
        outcomes.append((round(cerebro.broker.getvalue(), 6),
                         [(t.data, t.side, t.size, str(t.entry_time), t.exit_reason)
                          for t in strat.trades]))
    assert outcomes[0] == outcomes[1] == outcomes[2]
    value, trades = outcomes[0]
    assert len(trades) >= 5
    reasons = {t[4] for t in trades}
    assert "signal" in reasons and reasons & {"stop", "trail", "take-profit"}
    if len(names) == 2:
        assert {t[0] for t in trades} == {"nvda", "yhoo"}  # both feeds traded


def test_a_users_own_feed_trades_as_the_engine_does(tiny_artifact) -> None:  # type: ignore[no-untyped-def]
    """One param (model_path) on backtrader's own Yahoo feed gives the trades and final value of
    the engine's run on the same bars: nothing else needs configuring."""
    from bt_attention_lstm.models.data import load_ohlcv

    path = DATA_DIR / "yhoo-1996-2014.txt"
    cerebro = bt.Cerebro()
    cerebro.adddata(bt.feeds.YahooFinanceCSVData(dataname=str(path)))
    cerebro.broker.setcash(100_000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.broker.set_slippage_perc(0.0005)
    cerebro.addstrategy(AttentionLSTMStrategy, model_path=str(tiny_artifact))
    strat = cerebro.run()[0]
    engine = run_cerebro(load_ohlcv(path), load_artifact(tiny_artifact), {}, BrokerConfig())
    assert len(strat.trades) == len(engine.trades) > 0
    # backtrader's Yahoo feed stamps a daily bar at the session's end, the engine at midnight
    assert [(pd.Timestamp(t.entry_time).date(), t.size, t.exit_reason) for t in strat.trades] == [
        (pd.Timestamp(r.entry_time).date(), r.size, r.exit_reason)
        for r in engine.trades.itertuples()]
    assert cerebro.broker.getvalue() == pytest.approx(engine.final_value, rel=1e-9)


def test_engine_feed_knows_the_bar_size(orcl_df) -> None:  # type: ignore[no-untyped-def]
    from bt_attention_lstm.models.data import load_ohlcv

    assert pandas_feed(orcl_df.iloc[:300]).p.timeframe == bt.TimeFrame.Days
    five_min = pandas_feed(load_ohlcv(DATA_DIR / "2006-min-005.txt"))
    assert (five_min.p.timeframe, five_min.p.compression) == (bt.TimeFrame.Minutes, 5)


def test_a_known_confidence_gives_exact_orders_sizes_and_stop(
    signal_artifact: Callable[..., Artifact],
) -> None:
    """Confidence +0.75 at threshold 0.2: size = 0.95 x (0.25 + 0.75 x 0.55 / 0.8) of equity at
    the decision bar's close; one market entry on the first bar with a signal (none during
    the warm-up), filled at the next open; its stop 5% under the fill."""
    df = crafted_market(wiggle(120))
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(pandas_feed(df))
    cerebro.broker.setcash(100_000.0)
    cerebro.addstrategy(AttentionLSTMStrategy, artifact=signal_artifact(0.05, 0.8),
                        regime_filter=False, stop_loss=0.05)
    strat = cerebro.run()[0]
    data = strat.datas[0]
    first_signal = strat.signals[data]._minperiod - 1  # the bar index of the first signal
    orders = cerebro.broker.orders
    roles = [strat.order_role(o.ref) for o in orders]
    assert roles == ["entry", "protective"], "one entry and its stop, nothing else"
    entry, stop = orders
    assert pd.Timestamp(bt.num2date(entry.created.dt)) == df.index[first_signal]
    fraction = 0.95 * (0.25 + 0.75 * (0.75 - 0.2) / 0.8)
    assert entry.created.size == np.floor(fraction * 100_000.0 / df["close"].iloc[first_signal])
    assert entry.executed.price == df["open"].iloc[first_signal + 1]
    assert stop.exectype == bt.Order.Stop and stop.created.size == -entry.created.size
    assert stop.created.price == pytest.approx(entry.executed.price * 0.95, rel=1e-12)
    assert stop.alive() and strat.owned(data) == entry.created.size
