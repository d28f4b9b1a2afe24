"""LiveSession: what AttentionLSTMStrategy adds for live trading, on top of its decisions.

- a ``FeedGate`` fed by ``notify_data``: orders only on LIVE bars of live feeds;
- a ``DecisionLog`` (INFO records, optional JSON lines at ``decision_log``);
- a ``StateStore`` at ``state_path``: the state is restored in ``__init__`` and saved after every
  change (at most once per decision; nothing is written on bars where nothing changed);
- reconciliation with the broker's position on each data's first tradable bar
  (``on_existing_position``) and the repair of dead protective orders.

A mixin: it relies on the strategy's params, ``signals`` and the ``OrderLifecycle`` mixin.
"""

from __future__ import annotations

import logging

import backtrader as bt

from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.strategies.execution.restart import (
    EXISTING_POSITION_RULES,
    reconcile,
    restore,
    snapshot,
)
from bt_attention_lstm.strategies.execution.state_store import StateStore
from bt_attention_lstm.strategies.live.decision_log import DecisionLog
from bt_attention_lstm.strategies.live.gate import FeedGate

logger = logging.getLogger(__name__)


class LiveSession:
    def _init_live(self) -> None:
        if self.p.on_existing_position not in EXISTING_POSITION_RULES:
            raise ConfigError(
                f"on_existing_position must be one of {', '.join(EXISTING_POSITION_RULES)}, "
                f"got {self.p.on_existing_position!r}"
            )
        if not isinstance(self.p.max_order_retries, int) or self.p.max_order_retries < 0:
            raise ConfigError(
                f"max_order_retries must be a non-negative integer, got {self.p.max_order_retries}"
            )
        warmup = max((s._minperiod for s in self.signals.values()), default=0)
        self.gate = FeedGate(self.datas, warmup)
        self.decisions = DecisionLog(self.p.decision_log)
        self._reconciled: set[bt.DataBase] = set()
        self.state_store = StateStore(self.p.state_path) if self.p.state_path else None
        if self.state_store is not None:
            state = self.state_store.load()
            if state is not None:
                restore(self, state)

    def notify_data(self, data: bt.DataBase, status: int, *args: object, **kwargs: object) -> None:
        self.gate.update(data, status)

    def _live_checks(self, data: bt.DataBase) -> tuple[str, str] | None:
        """Gate, reconciliation and protection, before any signal decision.

        Returns (action, reason) when one of them decides this bar, else None.
        """
        if not self.gate.is_open(data):
            return "wait", f"feed {self.gate.status(data)}: no orders until LIVE"
        if data.islive():
            gap = self.gate.gap(data)
            if gap:
                self._order_event(data, gap, warning=True)
        if data not in self._reconciled:
            self._reconciled.add(data)
            action = reconcile(self, data)
            if action:
                return action, f"broker position reconciled ({self.p.on_existing_position})"
        repaired = self._repair_protection(data)
        if repaired:
            return repaired, "protective orders died: position protected again"
        return None

    def _log_decision(self, data: bt.DataBase, action: str, reason: str) -> None:
        signal = self.signals[data]
        probs = (float(signal.p_down[0]), float(signal.p_flat[0]), float(signal.p_up[0]))
        self.decisions.decision(
            data.datetime.datetime(0),
            data._name or "data0",
            self.gate.status(data),
            probs,
            action,
            reason,
            self.base_rate,
        )

    def _flush_state(self) -> None:
        """Save the state if something changed since the last save."""
        if not self.state_changed:
            return
        self.state_changed = False
        if self.state_store is not None:
            self.state_store.save(snapshot(self))

    def _end_session(self) -> None:
        """At stop: save what is still open (before stop() books it as "open"), close the log."""
        self.state_changed = True
        self._flush_state()
        self.decisions.close()
