"""LiveSession: what the strategy adds for live trading, around its decisions.

- a ``FeedGate`` fed by ``notify_data``: orders only on LIVE bars of live feeds, and a WARNING
  for a data gap beyond the feed's usual session breaks;
- a ``DecisionLog`` (INFO records, optional JSON lines at ``decision_log``);
- a ``StateStore`` at ``state_path``: the state is restored when the session is built and saved
  after every change (at most once per decision; nothing is written on bars where nothing
  changed);
- reconciliation with the broker's account on each feed's first tradable bar
  (``strategies.execution.restart``) and the repair of dead protective orders.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import backtrader as bt

from bt_attention_lstm.strategies.config import LiveConfig
from bt_attention_lstm.strategies.execution.feed_book import FeedBook
from bt_attention_lstm.strategies.execution.order_manager import OrderManager
from bt_attention_lstm.strategies.execution.restart import reconcile, restore, snapshot
from bt_attention_lstm.strategies.execution.state_store import StateStore
from bt_attention_lstm.strategies.live.decision_log import DecisionLog
from bt_attention_lstm.strategies.live.gate import FeedGate

logger = logging.getLogger(__name__)


class LiveSession:
    def __init__(self, config: LiveConfig, datas: Iterable[bt.DataBase], warmup_bars: int,
                 decisions: DecisionLog) -> None:
        self.config = config
        self.gate = FeedGate(datas, warmup_bars)
        self.decisions = decisions
        self.state_store = StateStore(config.state_path) if config.state_path else None
        self.saved_orders: dict[bt.DataBase, set[int]] = {}

    def restore(self, orders: OrderManager, model_sha256: str) -> None:
        """Load the state file into the books (if there is one)."""
        if self.state_store is None:
            return
        state = self.state_store.load()
        if state is not None:
            self.saved_orders = restore(orders, state, model_sha256)

    def event(self, book: FeedBook, message: str, warning: bool = False) -> None:
        """An order event, stamped with the feed's bar time."""
        data = book.data
        when = data.datetime.datetime(0) if len(data) else None
        self.decisions.event(when, book.name, message, warning=warning)

    def checks(self, orders: OrderManager, data: bt.DataBase,
               broker: Any) -> tuple[str, str] | None:
        """Gate, reconciliation and protection, before any signal decision.

        Returns (action, reason) when one of them decides this bar, else None.
        """
        book = orders.book(data)
        if data.islive():  # a backtest's feed is always open (FeedGate)
            if not self.gate.is_open(data):
                return "wait", f"feed {self.gate.status(data)}: no orders until LIVE"
            gap = self.gate.gap(data)
            if gap:
                self.event(book, gap, warning=True)
        if not book.reconciled:
            book.reconciled = True
            action = reconcile(orders, data, broker, self.config.on_existing_position,
                               self.saved_orders.get(data, set()), self.config.state_path)
            if action:
                return action, ("broker position reconciled "
                                f"({self.config.on_existing_position})")
        repaired = orders.repair(data)
        if repaired:
            return repaired, "protective orders died: position protected again"
        return None

    def save(self, orders: OrderManager, model_sha256: str) -> None:
        """Save the state if something changed since the last save."""
        if not orders.changed:
            return
        orders.mark_saved()
        if self.state_store is not None:
            self.state_store.save(snapshot(orders, model_sha256))

    def end(self, orders: OrderManager, model_sha256: str) -> None:
        """At stop: save what is still open (before stop() books it as "open"), close the log."""
        orders.mark_changed()
        self.save(orders, model_sha256)
        self.decisions.close()
