"""The order manager with the paper broker and the live-like feed: partial fills keep the stop
whole, a restart re-attaches the broker's open orders, a state file that disagrees with the
broker is reported and settled, and an intraday feed's session breaks are not data gaps."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import backtrader as bt
import numpy as np
import pytest

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.models.data import load_ohlcv
from bt_attention_lstm.models.datasets import sample_path
from bt_attention_lstm.strategies import AttentionLSTMStrategy, PaperBroker
from tests.strategies.conftest import crafted_market, wiggle
from tests.strategies.live_helpers import (
    HeldBroker,
    live_cerebro,
    protected_units,
    varied_signal_artifact,
)

LONG = (0.05, 0.8)
SHORT_SIGNAL = (0.8, 0.05)
PARAMS = {"stop_loss": 0.05, "threshold": 0.2}


class _StopAudit(AttentionLSTMStrategy):
    """Counts the bars that begin with fewer live stop units than the broker's position."""

    def __init__(self) -> None:
        super().__init__()
        self.short_bars = 0
        self.partial_exits = 0

    def next(self) -> None:
        data = self.datas[0]
        held = abs(self.getposition(data).size)
        if held and protected_units(self, data) < held - 1e-9:
            self.short_bars += 1
        super().next()

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Partial and self.order_role(order.ref) == "exit":
            self.partial_exits += 1
        super().notify_order(order)


def test_partial_fills_never_leave_units_without_their_stop(tmp_path: Path) -> None:
    df = load_ohlcv(sample_path("yhoo-1996-2014.txt")).loc["2005":"2013"]
    broker = PaperBroker()
    broker.set_filler(bt.broker.fillers.FixedSize(size=300))
    cerebro, _ = live_cerebro(df, varied_signal_artifact(tmp_path / "model"), backfill=100,
                              broker=broker, strategy=_StopAudit)
    strat = cerebro.run()[0]
    assert len(strat.trades) >= 30
    assert strat.partial_exits >= 30, "exits should fill in several parts"
    assert strat.short_bars == 0, "bars began with a stop smaller than the position"
    held = cerebro.broker.getposition(strat.datas[0]).size
    assert strat.owned(strat.datas[0]) == held


class _KeptOrdersBroker(HeldBroker):
    """A paper broker that, like a real one, still holds the previous session's open orders:
    ``kept`` is [(data, exectype, size, price, ref)], placed before the first bar is matched."""

    params = (("kept", None),)

    def start(self) -> None:
        super().start()
        self.kept_orders: list[bt.Order] = []

    def next(self) -> None:
        if not self.kept_orders and self.p.kept:
            for data, exectype, size, price, ref in self.p.kept:
                cls = bt.SellOrder if size < 0 else bt.BuyOrder
                order = cls(owner=None, data=data, size=abs(size), price=price,
                            exectype=exectype)
                order.ref = ref
                order.addcomminfo(self.getcommissioninfo(data))
                self._ocoize(order, None)
                self.submit(order)
                self.kept_orders.append(order)
        super().next()


def test_a_restart_reattaches_the_stop_the_broker_still_holds(
    signal_artifact: Callable[..., Artifact], tmp_path: Path,
) -> None:
    artifact = signal_artifact(*LONG)
    closes = wiggle(300)
    closes[280:] *= 0.85  # a fall through the stop late in the second session
    df = crafted_market(closes)
    state = tmp_path / "state.json"
    first, _ = live_cerebro(df.iloc[:200], artifact, backfill=120, state_path=str(state),
                            **PARAMS)
    s1 = first.run()[0]
    held = first.broker.getposition(s1.datas[0])
    (stop,) = [o for o in first.broker.orders if o.alive() and o.exectype == bt.Order.Stop]
    saved = json.loads(state.read_text())["datas"]["yhoo"]["orders"]["protective"]
    assert saved == [stop.ref]

    broker = _KeptOrdersBroker(held={})
    # a long cooldown: no new entry after the stop, so every order is the kept one's doing
    second, feed = live_cerebro(df.iloc[100:], artifact, backfill=100, state_path=str(state),
                                broker=broker, cooldown=1000, **PARAMS)
    broker.p.held = {feed: (held.size, held.price)}
    broker.p.kept = [(feed, bt.Order.Stop, -held.size, stop.created.price, stop.ref)]
    s2 = second.run()[0]
    placed = [o for o in second.broker.orders if o.ref != stop.ref]
    assert [o for o in placed if o.exectype == bt.Order.Stop] == [], "a second stop was placed"
    assert s2.order_role(stop.ref) == "protective"
    (kept,) = broker.kept_orders
    assert kept.status == kept.Completed and kept.executed.size == -held.size
    assert second.broker.getposition(feed).size == 0 and s2.owned(feed) == 0
    (trade,) = s2.trades  # the first session's trade, closed by its own stop
    assert trade.exit_reason == "stop" and trade.entry_time == s1.trades[0].entry_time
    assert trade.exit_price == pytest.approx(stop.created.price)


def test_a_state_file_the_broker_disagrees_with_is_reported_and_settled(
    signal_artifact: Callable[..., Artifact], tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    df = crafted_market(wiggle(200))
    state = tmp_path / "state.json"
    first, _ = live_cerebro(df.iloc[:150], signal_artifact(*LONG), backfill=100,
                            state_path=str(state), **PARAMS)
    first.run()
    assert json.loads(state.read_text())["datas"]["yhoo"]["owned"] > 0
    # The account is the paper broker's empty one: the position is not there.
    second, feed = live_cerebro(df, signal_artifact(*SHORT_SIGNAL), backfill=160,
                                state_path=str(state), **PARAMS)
    with caplog.at_level(logging.WARNING):
        s2 = second.run()[0]
    (warning,) = [r.getMessage() for r in caplog.records if "truth for positions" in
                  r.getMessage()]
    assert str(state) in warning and "account holds 0" in warning
    assert second.broker.orders == [], "the stale state placed orders"
    assert s2.trades == [] and s2.owned(feed) == 0
    assert json.loads(state.read_text())["datas"]["yhoo"]["owned"] == 0


def _gap_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "data gap" in r.getMessage()]


def test_an_intraday_feeds_nights_are_not_gaps_but_missing_bars_are(
    signal_artifact: Callable[..., Artifact], caplog: pytest.LogCaptureFixture,
) -> None:
    minutes = load_ohlcv(sample_path("2006-min-005.txt"))
    days = np.unique(minutes.index.date)
    assert len(days) >= 5
    artifact = signal_artifact(0.3, 0.35)  # never trades: only the gate speaks
    with caplog.at_level(logging.WARNING):
        cerebro, _ = live_cerebro(minutes, artifact, backfill=150)
        cerebro.run()
    assert _gap_warnings(caplog) == [], "an overnight break was reported as a gap"

    caplog.clear()
    noon = minutes.index[(minutes.index.date == days[3]) & (minutes.index.hour == 12)]
    holed = minutes.drop(noon)
    with caplog.at_level(logging.WARNING):
        cerebro, _ = live_cerebro(holed, artifact, backfill=150)
        cerebro.run()
    (gap,) = _gap_warnings(caplog)
    assert "13 bar spacings" in gap


class _TakeProfitAudit(_StopAudit):
    """Also counts the take-profits that filled in part."""

    def __init__(self) -> None:
        super().__init__()
        self.partial_take_profits = 0
        self.lowest_position = 0.0

    def next(self) -> None:
        # long only: a take-profit and a stop that both sold the same units would go short
        self.lowest_position = min(self.lowest_position, self.getposition(self.datas[0]).size)
        super().next()

    def notify_order(self, order: bt.Order) -> None:
        if (order.status == order.Partial and order.exectype == bt.Order.Limit
                and self.order_role(order.ref) == "protective"):
            self.partial_take_profits += 1
        super().notify_order(order)


def _limits_in_parts(order: bt.Order, price: float, ago: int) -> float:
    """A backtrader filler: limit orders fill at most 200 units a bar (a thin book at the
    level), market and stop orders in full."""
    rest = abs(order.executed.remsize)
    return min(rest, 200.0) if order.exectype == bt.Order.Limit else rest


def test_a_take_profit_filled_in_part_leaves_its_rest_under_a_stop(tmp_path: Path) -> None:
    # The broker's OCO cancels a group's stop on the take-profit's first part; what the
    # take-profit has still to sell must get a stop at once, in one OCO with it.
    df = load_ohlcv(sample_path("yhoo-1996-2014.txt")).loc["2005":"2013"]
    broker = PaperBroker()
    broker.set_filler(_limits_in_parts)
    cerebro, _ = live_cerebro(df, varied_signal_artifact(tmp_path / "model"), backfill=100,
                              broker=broker, strategy=_TakeProfitAudit, take_profit=0.03)
    strat = cerebro.run()[0]
    assert strat.partial_take_profits >= 10, "take-profits should fill in several parts"
    assert strat.short_bars == 0, "bars began with a stop smaller than the position"
    assert strat.lowest_position == 0.0, "units were sold twice"
    data = strat.datas[0]
    held = cerebro.broker.getposition(data).size
    assert strat.owned(data) == held
    if held:
        assert protected_units(strat, data) == pytest.approx(abs(held))
    ta = strat.analyzers.ta.get_analysis()
    closed = [t for t in strat.trades if t.exit_reason != "open"]
    assert len(closed) == ta.total.closed
