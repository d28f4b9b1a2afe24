"""Live gating: orders only on bars the feed reports LIVE, and live decisions equal a backtest's."""

from __future__ import annotations

import logging
from pathlib import Path

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.runners.research.cerebro import BrokerConfig, run_cerebro
from bt_attention_lstm.strategies.live.paper_broker import PaperBroker
from tests.strategies.live_helpers import (
    TRADING,
    decision_orders,
    delayed_times,
    live_cerebro,
    order_time,
    varied_signal_artifact,
    yhoo,
)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    return varied_signal_artifact(tmp_path_factory.mktemp("live") / "model")


def test_no_order_on_delayed_bars_even_after_a_reconnection(artifact: Artifact) -> None:
    df = yhoo()
    backtest = run_cerebro(df, artifact, TRADING, BrokerConfig(commission=0.001, slippage=0.0))
    entries = [df.index.get_loc(pd.Timestamp(t)) for t in backtest.trades.entry_time]
    assert sum(i < 300 for i in entries) > 0, "the backtest trades during the backfill bars"
    # Break the connection so that a bar the backtest trades on comes back as a backfill.
    decided_on = next(i - 1 for i in entries if i - 1 > 330)
    cerebro, feed = live_cerebro(
        df, artifact, backfill=300,
        feed_kwargs={"disconnect_after": decided_on - 300 - 2, "missed": 5},
    )
    strat = cerebro.run()[0]
    delayed = delayed_times(df, feed)
    assert len(delayed) == 300 + 5 and df.index[decided_on] in delayed
    decided = [order_time(o) for o in decision_orders(strat)]
    assert len(decided) >= 4, "the model should trade on live bars"
    assert not set(decided) & delayed, "an order was decided on a backfilled bar"


def test_live_decisions_equal_the_batched_backtest(artifact: Artifact) -> None:
    df = yhoo()
    cerebro, feed = live_cerebro(df, artifact, backfill=300)
    strat = cerebro.run()[0]
    live_start = feed.live_start
    assert live_start == df.index[300]
    backtest = run_cerebro(
        df, artifact, TRADING, BrokerConfig(commission=0.001, slippage=0.0),
        trade_start=live_start,
    )
    live_conf = np.asarray(strat.signals[strat.datas[0]].confidence.array[300 : len(df)])
    np.testing.assert_allclose(live_conf, backtest.confidence.to_numpy(), atol=1e-5)
    live_trades = [(str(t.entry_time), t.side, t.size, t.exit_reason, round(t.pnl, 6))
                   for t in strat.trades]
    batched = [(str(pd.Timestamp(t.entry_time).to_pydatetime()), t.side, t.size, t.exit_reason,
                round(t.pnl, 6)) for t in backtest.trades.itertuples()]
    assert len(live_trades) >= 5
    assert live_trades == batched
    assert cerebro.broker.getvalue() == pytest.approx(backtest.final_value, abs=1e-6)


def test_short_backfill_is_warned(artifact: Artifact, caplog: pytest.LogCaptureFixture) -> None:
    df = yhoo("2010-01-01", "2010-12-31")
    cerebro, _ = live_cerebro(df, artifact, backfill=80)
    with caplog.at_level(logging.WARNING, logger="bt_attention_lstm.strategies.live.gate"):
        cerebro.run()
    warned = [r.getMessage() for r in caplog.records if "before LIVE" in r.getMessage()]
    assert len(warned) == 1 and "only 80 bars of history" in warned[0]


def test_backtest_feeds_are_not_gated(artifact: Artifact, tmp_path: Path) -> None:
    """A historical feed never reports LIVE: the gate must stay open for it."""
    df = yhoo()
    result = run_cerebro(df, artifact, TRADING, BrokerConfig(commission=0.001, slippage=0.0))
    assert len(result.trades) >= 10


def test_paper_broker_never_fills_an_order_inside_the_bar_it_was_placed_on(
    artifact: Artifact,
) -> None:
    """A plain BackBroker, run again on each empty poll of a live feed, does exactly that."""

    def same_bar_fills(broker: bt.brokers.BackBroker) -> int:
        cerebro, _ = live_cerebro(yhoo(), artifact, backfill=300, broker=broker)
        strat = cerebro.run()[0]
        done = [o for o in strat.broker.orders if o.status == o.Completed]
        assert len(done) >= 8
        return sum(o.executed.dt == o.created.dt for o in done)

    assert same_bar_fills(bt.brokers.BackBroker()) > 0
    assert same_bar_fills(PaperBroker()) == 0


def test_backtest_run_modes_agree_with_stops_trails_and_targets(artifact: Artifact) -> None:
    """The order lifecycle keeps runonce, next mode and preload=False trade for trade."""
    params = {**TRADING, "trail_percent": 0.08, "take_profit": 0.12, "allow_short": True}
    broker = BrokerConfig(commission=0.001, slippage=0.0005)
    outcomes = []
    for runonce, preload in ((True, True), (False, True), (False, False)):
        result = run_cerebro(yhoo(), artifact, params, broker, runonce=runonce,
                              preload=preload)
        outcomes.append((round(result.final_value, 6), result.trades.to_dict("records")))
    assert outcomes[0] == outcomes[1] == outcomes[2]
    reasons = {t["exit_reason"] for t in outcomes[0][1]}
    assert len(outcomes[0][1]) >= 10 and {"signal", "stop"} <= reasons
