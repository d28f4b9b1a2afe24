"""Shared pieces of the live-trading tests: a model that trades, a broker with faults, a broker
that already holds a position, and a Cerebro around ``LiveReplayFeed``.

``varied_signal_artifact`` is a real artifact (safetensors + meta.json through
``load_artifact``) of an AttentionLSTM with seeded random weights on the short ta-v1 feature set,
its scaler fitted on ORCL 1995-2001: its confidence moves bar by bar, so it enters and exits
often, which these tests need.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import backtrader as bt
import pandas as pd
import torch

from bt_attention_lstm.models.artifact import Artifact, load_artifact, save_artifact
from bt_attention_lstm.models.data import load_ohlcv
from bt_attention_lstm.models.features.compute import compute_features
from bt_attention_lstm.models.features.scaling import FeatureScaler
from bt_attention_lstm.models.features.spec import v1_spec
from bt_attention_lstm.models.nn.network import AttentionLSTM, ModelConfig
from bt_attention_lstm.strategies import AttentionLSTMStrategy
from bt_attention_lstm.strategies.live.feed import LiveReplayFeed
from bt_attention_lstm.strategies.live.paper_broker import PaperBroker
from tests.conftest import DATA_DIR

YHOO = DATA_DIR / "yhoo-1996-2014.txt"
TRADING = {"threshold": 0.05, "max_position": 0.9, "stop_loss": 0.04, "regime_filter": False}


def varied_signal_artifact(path: Path, seed: int = 3) -> Artifact:
    spec = v1_spec()
    torch.manual_seed(seed)
    model = AttentionLSTM(
        ModelConfig(n_features=spec.n_features, hidden=8, layers=1, heads=1, dropout=0.0,
                    seq_len=5)
    )
    with torch.no_grad():
        model.head[1].weight.mul_(8.0)  # spread the probabilities so the signal crosses 0.05
    history = load_ohlcv(DATA_DIR / "orcl-1995-2014.txt").loc["1995":"2001"]
    rows = compute_features(history, spec).dropna().to_numpy()
    scaler = FeatureScaler(mean=rows.mean(axis=0), scale=rows.std(axis=0))
    save_artifact(path, model, scaler, spec, 5,
                  {"training": {"start": "1995-01-01", "end": "2001-12-31"}})
    return load_artifact(path)


def yhoo(start: str = "2009-06-01", end: str = "2011-12-31") -> pd.DataFrame:
    return load_ohlcv(YHOO).loc[start:end]


class FaultyBroker(PaperBroker):
    """A BackBroker that rejects, refuses for margin, cancels or expires chosen orders.

    ``faults``: {kind: (fault, count)}, kind in entry | exit | stop | trail | take-profit,
    fault in reject | margin | cancel | expire: the first ``count`` orders of that kind get it.
    Rejections and margin calls come at submission (as a real broker answers); cancels and
    expiries hit an accepted order one bar later.
    """

    params = (("faults", None),)

    def start(self) -> None:
        super().start()
        self.faulted: list[tuple[str, str, int]] = []
        self._left = {k: n for k, (_, n) in (self.p.faults or {}).items()}
        self._later: list[tuple[bt.Order, str]] = []

    def _kind(self, order: bt.Order) -> str:
        if order.exectype == bt.Order.Stop:
            return "stop"
        if order.exectype == bt.Order.StopTrail:
            return "trail"
        if order.exectype == bt.Order.Limit:
            return "take-profit"
        held = self.getposition(order.data).size
        return "exit" if held and (held > 0) != order.isbuy() else "entry"

    def transmit(self, order: bt.Order, check: bool = True) -> bt.Order:
        kind = self._kind(order)
        fault = (self.p.faults or {}).get(kind, (None, 0))[0]
        if fault is None or self._left.get(kind, 0) <= 0:
            return super().transmit(order, check)
        self._left[kind] -= 1
        self.faulted.append((kind, fault, order.ref))
        if fault in ("reject", "margin"):
            order.reject(self) if fault == "reject" else order.margin()
            self.orders.append(order)
            self.notify(order)
            return order
        self._later.append((order, fault))
        return super().transmit(order, check)

    def next(self) -> None:
        later, self._later = self._later, []
        for order, fault in later:
            if not order.alive():
                continue
            if order not in self.pending:  # not accepted yet: hit it on a later bar
                self._later.append((order, fault))
            elif fault == "cancel":
                self.cancel(order)
            else:
                self.pending.remove(order)
                bt.order.OrderBase.expire(order)  # Order.expire only expires past a valid date
                self.notify(order)
                self._ococheck(order)
        super().next()


class HeldBroker(PaperBroker):
    """A BackBroker whose account already holds positions at start (a restart, a manual buy).

    ``held``: {data: (size, price)}; the cash paid for them is taken from the starting cash.
    """

    params = (("held", None),)

    def start(self) -> None:
        super().start()
        for data, (size, price) in (self.p.held or {}).items():
            self.positions[data] = bt.Position(size=size, price=price)
            self.cash -= size * price
        self._value = self.cash + sum(
            s * p for s, p in (self.p.held or {}).values()
        )


def live_cerebro(
    df: pd.DataFrame,
    artifact: Artifact,
    backfill: int,
    broker: PaperBroker | None = None,
    strategy: type = AttentionLSTMStrategy,
    feed_kwargs: dict[str, Any] | None = None,
    analyzers: bool = True,
    **params: Any,
) -> tuple[bt.Cerebro, LiveReplayFeed]:
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.setbroker(broker if broker is not None else PaperBroker())
    feed = LiveReplayFeed(dataname=df, backfill=backfill, name="yhoo", **(feed_kwargs or {}))
    cerebro.adddata(feed)
    cerebro.broker.setcash(100_000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addstrategy(strategy, artifact=artifact, **{**TRADING, **params})
    if analyzers:
        cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="ta")
    return cerebro, feed


def decision_orders(strat: AttentionLSTMStrategy) -> list[bt.Order]:
    """Entries and exits the strategy decided (protective orders follow fills, not decisions)."""
    return [o for o in strat.broker.orders if strat.order_role(o.ref) in ("entry", "exit")]


def delayed_times(df: pd.DataFrame, feed: LiveReplayFeed) -> set[pd.Timestamp]:
    """The bars the feed delivered as DELAYED backfill (first backfill and reconnections)."""
    delayed: set[pd.Timestamp] = set()
    status = None
    for step in feed.plan(len(df)):
        if step.status is not None:
            status = step.status
        elif step.row is not None and status == feed.DELAYED:
            delayed.add(df.index[step.row])
    return delayed


def protected_units(strat: AttentionLSTMStrategy, data: bt.DataBase) -> float:
    """Units covered by alive Stop orders of the strategy (one stop per protective group)."""
    return float(sum(abs(o.executed.remsize) for o in strat.broker.orders
                     if o.data is data and o.alive() and o.exectype == bt.Order.Stop))


def order_time(order: bt.Order) -> pd.Timestamp:
    return pd.Timestamp(bt.num2date(order.created.dt))

