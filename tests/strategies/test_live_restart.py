"""Restart: the state file, reconciliation with the broker's position, and on_existing_position."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import backtrader as bt
import pytest

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.models.errors import ConfigError, DataError
from bt_attention_lstm.strategies.execution.state_store import StateStore
from tests.strategies.conftest import crafted_market, wiggle
from tests.strategies.live_helpers import HeldBroker, live_cerebro, protected_units

LONG = (0.05, 0.8)  # constant confidence +0.75: enter long and hold
SHORT_SIGNAL = (0.8, 0.05)  # constant -0.75: an exit signal for any long position
PARAMS = {"stop_loss": 0.05, "threshold": 0.2}


def _stops(strat: bt.Strategy) -> list[bt.Order]:
    return [o for o in strat.broker.orders if o.alive() and o.exectype == bt.Order.Stop]


def _roles(strat: bt.Strategy, role: str) -> list[bt.Order]:
    return [o for o in strat.broker.orders if strat.order_role(o.ref) == role]


def test_restart_resumes_without_a_second_entry_and_keeps_the_stop(
    signal_artifact: Callable[..., Artifact], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    artifact = signal_artifact(*LONG)
    df = crafted_market(wiggle(300))
    state = tmp_path / "state.json"
    writes: list[bool] = []
    save = StateStore.save

    def counting_save(self: StateStore, content: dict) -> bool:  # type: ignore[type-arg]
        writes.append(save(self, content))
        return writes[-1]

    monkeypatch.setattr(StateStore, "save", counting_save)
    first, _ = live_cerebro(df.iloc[:200], artifact, backfill=120, state_path=str(state),
                            **PARAMS)
    s1 = first.run()[0]
    data1 = s1.datas[0]
    held = first.broker.getposition(data1)
    assert held.size > 0 and len(_roles(s1, "entry")) == 1
    saved = json.loads(state.read_text(), parse_constant=pytest.fail)["datas"]["yhoo"]
    assert saved["owned"] == held.size
    assert saved["levels"]["stop"] == pytest.approx(held.price * 0.95)
    # Written when something changed (orders, fills), not on each of the 80 live bars.
    assert 2 <= sum(writes) <= 8

    # The process restarts: the broker still holds the position, the feed backfills again.
    second, feed2 = live_cerebro(
        df.iloc[100:], artifact, backfill=100, state_path=str(state), **PARAMS,
        broker=HeldBroker(held={}),
    )
    second.broker.p.held = {feed2: (held.size, held.price)}
    s2 = second.run()[0]
    assert _roles(s2, "entry") == [], "a second entry after the restart"
    stops = _stops(s2)
    assert len(stops) == 1 and abs(stops[0].size) == held.size
    assert stops[0].created.price == pytest.approx(held.price * 0.95)
    assert second.broker.getposition(feed2).size == held.size
    (trade,) = s2.trades  # the trade of the first session, still open
    assert trade.exit_reason == "open" and trade.entry_time == s1.trades[0].entry_time


def _held_run(artifact: Artifact, rule: str, size: float = 500.0, price: float = 100.0):  # type: ignore[no-untyped-def]
    df = crafted_market(wiggle(200))
    cerebro, feed = live_cerebro(df, artifact, backfill=120, broker=HeldBroker(held={}),
                                 on_existing_position=rule, **PARAMS)
    cerebro.broker.p.held = {feed: (size, price)}
    strat = cerebro.run()[0]
    return cerebro, feed, strat


def test_adopt_protects_the_position_it_finds(
    signal_artifact: Callable[..., Artifact],
) -> None:
    cerebro, feed, strat = _held_run(signal_artifact(*LONG), "adopt")
    assert _roles(strat, "entry") == [], "an adopted position is not bought again"
    (stop,) = _stops(strat)
    assert abs(stop.size) == 500 and stop.created.price == pytest.approx(95.0)
    assert protected_units(strat, feed) == cerebro.broker.getposition(feed).size == 500


def test_adopted_position_is_closed_by_the_signal(
    signal_artifact: Callable[..., Artifact],
) -> None:
    cerebro, feed, strat = _held_run(signal_artifact(*SHORT_SIGNAL), "adopt")
    (exit_order,) = _roles(strat, "exit")
    assert exit_order.executed.size == -500
    assert cerebro.broker.getposition(feed).size == 0
    assert [t.exit_reason for t in strat.trades] == ["signal"]


def test_ignore_never_sells_what_it_did_not_open(
    signal_artifact: Callable[..., Artifact],
) -> None:
    cerebro, feed, strat = _held_run(signal_artifact(*SHORT_SIGNAL), "ignore")
    assert cerebro.broker.orders == [], "the strategy touched a position it does not own"
    assert cerebro.broker.getposition(feed).size == 500


def test_ignore_trades_its_own_units_beside_the_others(
    signal_artifact: Callable[..., Artifact],
) -> None:
    cerebro, feed, strat = _held_run(signal_artifact(*LONG), "ignore")
    (entry,) = _roles(strat, "entry")
    own = entry.executed.size
    assert own > 0 and cerebro.broker.getposition(feed).size == 500 + own
    assert protected_units(strat, feed) == own, "stops cover only the strategy's own units"


def test_refuse_stops_with_a_clear_error(signal_artifact: Callable[..., Artifact]) -> None:
    with pytest.raises(ConfigError, match="did not open.*refuse"):
        _held_run(signal_artifact(*LONG), "refuse")


def test_a_corrupt_state_file_is_refused(
    signal_artifact: Callable[..., Artifact], tmp_path: Path,
) -> None:
    state = tmp_path / "state.json"
    state.write_text("{not json")
    cerebro, _ = live_cerebro(crafted_market(wiggle(150)), signal_artifact(*LONG), backfill=100,
                              state_path=str(state))
    with pytest.raises(DataError, match="cannot be read"):
        cerebro.run()
