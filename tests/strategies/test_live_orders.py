"""Broker faults: rejected exits and stops, cancels, expiries, margin calls and partial fills.

Every run must end flat or protected by stops of the position's size, never leave a position
unprotected for more than the bar after the fault, and keep trade records that agree with
backtrader's own TradeAnalyzer.
"""

from __future__ import annotations

import logging
from typing import Any

import backtrader as bt
import pytest

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.strategies import AttentionLSTMStrategy
from tests.strategies.live_helpers import (
    FaultyBroker,
    live_cerebro,
    protected_units,
    varied_signal_artifact,
    yhoo,
)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    return varied_signal_artifact(tmp_path_factory.mktemp("faults") / "model")


class _Watched(AttentionLSTMStrategy):
    """Counts, bar by bar, the longest run of bars with units not covered by a stop."""

    def __init__(self) -> None:
        super().__init__()
        self.naked_run = 0
        self.longest_naked = 0

    def next(self) -> None:
        data = self.datas[0]
        held = abs(self.getposition(data).size)
        pending = self.book(data).protection_pending()
        if held and not pending and protected_units(self, data) < held:
            self.naked_run += 1
        else:
            self.naked_run = 0
        self.longest_naked = max(self.longest_naked, self.naked_run)
        super().next()


def _run(artifact: Artifact, broker: bt.brokers.BackBroker, **params: Any) -> Any:
    cerebro, _ = live_cerebro(yhoo(), artifact, backfill=300, broker=broker, strategy=_Watched,
                              **params)
    return cerebro, cerebro.run()[0]


def _check_end_state(cerebro: bt.Cerebro, strat: _Watched, naked_bars: int = 1) -> None:
    data = strat.datas[0]
    held = cerebro.broker.getposition(data).size
    assert strat.owned(data) == pytest.approx(held)
    if held:
        assert protected_units(strat, data) == pytest.approx(abs(held)), "stop of the wrong size"
    else:
        assert not [o for o in cerebro.broker.orders if o.alive()], "orders outlived the position"
    # Each rejected protective order costs at most the bar it was rejected on.
    assert strat.longest_naked <= naked_bars, "a position stayed without its stop"
    ta = strat.analyzers.ta.get_analysis()
    closed = [t for t in strat.trades if t.exit_reason != "open"]
    assert len(closed) == ta.total.closed
    assert len(strat.trades) - len(closed) == ta.total.get("open", 0)
    if closed:
        assert sum(t.pnl for t in closed) == pytest.approx(ta.pnl.net.total, abs=1e-6)


@pytest.mark.parametrize(
    ("faults", "fault_status"),
    [
        ({"exit": ("reject", 2)}, "Rejected"),
        ({"stop": ("reject", 3)}, "Rejected"),
        ({"stop": ("cancel", 2)}, "Canceled"),
        ({"stop": ("expire", 2)}, "Expired"),
        ({"entry": ("margin", 2)}, "Margin"),
        ({"exit": ("margin", 1), "stop": ("reject", 1)}, "Margin"),
    ],
    ids=["rejected-exit", "rejected-stop", "cancelled-stop", "expired-stop", "margin-entry",
         "margin-exit"],
)
def test_broker_faults_leave_the_position_flat_or_protected(
    artifact: Artifact, faults: dict[str, tuple[str, int]], fault_status: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = FaultyBroker(faults=faults)
    with caplog.at_level(logging.WARNING):
        cerebro, strat = _run(artifact, broker)
    assert broker.faulted, "the fault never happened"
    stop_faults = faults.get("stop", (None, 0))[1]
    _check_end_state(cerebro, strat, naked_bars=max(1, stop_faults))
    assert len(strat.trades) >= 4, "the strategy stopped trading after the fault"
    if fault_status != "Margin" or "exit" in faults:
        assert any(fault_status in r.getMessage() for r in caplog.records
                   if r.levelno == logging.WARNING)


def test_a_stop_that_is_always_rejected_closes_the_position(artifact: Artifact) -> None:
    broker = FaultyBroker(faults={"stop": ("reject", 10_000)})
    cerebro, strat = _run(artifact, broker, max_order_retries=2)
    # The fault bar, two retries, then the market exit.
    _check_end_state(cerebro, strat, naked_bars=3)
    assert "unprotected" in {t.exit_reason for t in strat.trades}


def test_partial_fills_accumulate_and_are_protected(artifact: Artifact) -> None:
    broker = FaultyBroker()
    broker.set_filler(bt.broker.fillers.FixedSize(size=1500))
    cerebro, strat = _run(artifact, broker)
    _check_end_state(cerebro, strat)
    data = strat.datas[0]
    entries = [o for o in cerebro.broker.orders if strat.order_role(o.ref) == "entry"]
    parts = [len(o.executed.exbits) for o in entries if o.status == o.Completed]
    assert max(parts) >= 2, "entries should fill in several parts"
    stops = [o for o in cerebro.broker.orders if o.exectype == bt.Order.Stop and o.data is data]
    assert len(stops) > len(entries), "each filled part gets its own stop"
    recorded = sum(t.size for t in strat.trades)
    filled = sum(abs(o.executed.size) for o in entries)
    assert recorded == pytest.approx(filled)
