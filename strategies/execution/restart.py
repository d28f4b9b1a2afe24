"""Restart safety: the strategy's state as JSON, and reconciliation with the broker's position.

``snapshot`` / ``restore`` turn the per-data trading state (what the strategy owns, the open
trade record, the protective levels, the last exit for the cooldown: its time, side and reason,
the refs of orders in flight) into JSON and back. ``reconcile`` runs once per data, on its first
tradable bar, and compares the broker's position with what the strategy owns:

- the strategy's saved position is still there: it is managed again, and protected at the saved
  levels (orders of the previous session are not visible to a new backtrader session);
- units the strategy did not open follow ``on_existing_position``:
  ``adopt`` (manage and protect them with the configured stops), ``ignore`` (leave them alone:
  exits only ever sell what the strategy owns), ``refuse`` (stop with a clear error).
"""

from __future__ import annotations

import logging
import math
from datetime import datetime
from typing import Any

import backtrader as bt
import numpy as np

from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.strategies.execution.order_lifecycle import EPS, FillTally, ProtectLevels
from bt_attention_lstm.strategies.execution.trade_record import TradeRecord

logger = logging.getLogger(__name__)

EXISTING_POSITION_RULES = ("adopt", "ignore", "refuse")


def _name(strategy: Any, data: bt.DataBase) -> str:
    return data._name or f"data{strategy.datas.index(data)}"


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _ref(order: bt.Order | None) -> int | None:
    return order.ref if order is not None and order.alive() else None


def _finite(values: dict[str, Any]) -> dict[str, Any]:
    """NaN and infinities -> None: the state file is strict JSON."""
    return {k: None if isinstance(v, float) and not math.isfinite(v) else v
            for k, v in values.items()}


def _given(values: dict[str, Any]) -> dict[str, Any]:
    """Drop the None values, so the dataclass defaults (NaN) come back."""
    return {k: v for k, v in values.items() if v is not None}


def snapshot(strategy: Any) -> dict[str, Any]:
    """The strategy's own state, JSON-ready."""
    datas: dict[str, Any] = {}
    for data in strategy.datas:
        record: TradeRecord | None = strategy._open_trade[data]
        trade = None
        if record is not None:
            trade = _finite(record.to_dict())
            trade["entry_time"] = _iso(record.entry_time)
            trade["exit_time"] = None
        levels = strategy._levels[data]
        tally = strategy._exits[data]
        datas[_name(strategy, data)] = {
            "owned": strategy._owned[data],
            "trade": trade,
            "exits": _finite(vars(tally)) if record is not None else None,
            "levels": vars(levels).copy() if levels is not None else None,
            "last_exit_time": _iso(strategy._last_exit_time.get(data)),
            # vol_target's cooldown only holds back the side a protective order closed
            "last_exit_side": strategy._last_exit_side.get(data),
            "last_exit_reason": strategy._last_exit_reason.get(data),
            "orders": {
                "entry": _ref(strategy._entry_order[data]),
                "exit": _ref(strategy._exit_order[data]),
                "protective": [o.ref for o in strategy._protective[data] if o.alive()],
            },
        }
    return {"model_sha256": strategy.artifact.weights_sha256, "datas": datas}


def restore(strategy: Any, state: dict[str, Any]) -> None:
    """Load a snapshot's per-data state (orders of the old session are only reported)."""
    if state.get("model_sha256") not in (None, strategy.artifact.weights_sha256):
        logger.warning(
            "the state file was saved by another model (weights %s); its positions and levels "
            "are restored as they are", str(state.get("model_sha256"))[:8],
        )
    saved = state.get("datas", {})
    for data in strategy.datas:
        entry = saved.get(_name(strategy, data))
        if not entry:
            continue
        strategy._owned[data] = float(entry.get("owned", 0.0))
        if entry.get("trade"):
            trade = _given(entry["trade"])
            trade["entry_time"] = _time(trade.get("entry_time"))
            strategy._open_trade[data] = TradeRecord(**trade)
            strategy._exits[data] = FillTally(**_given(entry.get("exits") or {}))
        if entry.get("levels"):
            strategy._levels[data] = ProtectLevels(**entry["levels"])
        if entry.get("last_exit_time"):
            strategy._last_exit_time[data] = _time(entry["last_exit_time"])
        for key, slot in (("last_exit_side", strategy._last_exit_side),
                          ("last_exit_reason", strategy._last_exit_reason)):
            if entry.get(key):
                slot[data] = str(entry[key])
        orders = entry.get("orders") or {}
        old = [r for r in (orders.get("entry"), orders.get("exit")) if r is not None]
        old += orders.get("protective") or []
        if old:
            logger.warning(
                "%s: the previous session left orders %s open; backtrader cannot see them in a "
                "new session: cancel them at the broker (the strategy protects its position "
                "with new orders)",
                _name(strategy, data),
                old,
            )
        logger.info(
            "%s: state restored: owns %g%s",
            _name(strategy, data),
            strategy._owned[data],
            " with an open trade" if strategy._open_trade[data] else "",
        )


def _restore_cooldown(strategy: Any, data: bt.DataBase) -> None:
    """A saved exit time -> the bar index of that exit in this session's history."""
    exit_time = strategy._last_exit_time.get(data)
    if exit_time is None or data in strategy._last_exit_bar:
        return
    times = np.asarray(data.datetime.get(size=len(data)))
    later = int(np.sum(times > bt.date2num(exit_time)))
    strategy._last_exit_bar[data] = len(data) - later


def reconcile(strategy: Any, data: bt.DataBase) -> str | None:
    """Align what the strategy owns with the broker; returns an action when orders were placed."""
    _restore_cooldown(strategy, data)
    name = _name(strategy, data)
    position = strategy.broker.getposition(data)
    broker_size = float(position.size)
    owned = strategy._owned[data]
    if abs(owned) >= EPS and (abs(broker_size) < EPS or (broker_size > 0) != (owned > 0)):
        logger.warning(
            "%s: the saved position of %g is no longer at the broker (it holds %g): it was "
            "closed while the strategy was away; its trade is not recorded",
            name, owned, broker_size,
        )
        _forget_position(strategy, data)
        owned = 0.0
    elif abs(broker_size) + EPS < abs(owned):
        logger.warning(
            "%s: the broker holds %g of the %g the strategy owned: managing %g",
            name, broker_size, owned, broker_size,
        )
        strategy._owned[data] = owned = broker_size
        if strategy._open_trade[data] is not None:
            strategy._open_trade[data].size = abs(broker_size)
    extra = broker_size - owned
    action = None
    if abs(extra) >= EPS:
        action = _existing_position(strategy, data, extra, float(position.price))
    if abs(strategy._owned[data]) >= EPS and strategy._coverage(data) < EPS:
        if strategy._levels[data] is None:
            record = strategy._open_trade[data]
            price = record.entry_price if record is not None else float(position.price)
            long = strategy._owned[data] > 0
            strategy._levels[data] = strategy._protect_levels(data, price, long)
        strategy._place_group(data, abs(strategy._owned[data]), strategy._owned[data] > 0)
        logger.info("%s: protecting the position of %g", name, strategy._owned[data])
        action = action or "protect"
    strategy.state_changed = True
    return action


def _forget_position(strategy: Any, data: bt.DataBase) -> None:
    strategy._owned[data] = 0.0
    strategy._open_trade[data] = None
    strategy._levels[data] = None


def _existing_position(strategy: Any, data: bt.DataBase, extra: float, price: float) -> str | None:
    name = _name(strategy, data)
    rule = strategy.p.on_existing_position
    if rule == "refuse":
        raise ConfigError(
            f"{name}: the broker holds {extra:g} units this strategy did not open "
            "(on_existing_position='refuse'): close them, or set on_existing_position to "
            "'adopt' (manage and protect them) or 'ignore' (leave them alone)"
        )
    if rule == "ignore":
        logger.warning(
            "%s: the broker holds %g units this strategy did not open: leaving them alone "
            "(on_existing_position='ignore')", name, extra,
        )
        return None
    owned = strategy._owned[data]
    record = strategy._open_trade[data]
    if record is None:
        strategy._open_trade[data] = TradeRecord(
            data=data._name or "data0",
            side="long" if extra > 0 else "short",
            size=abs(extra),
            entry_time=data.datetime.datetime(0),
            entry_price=price,
        )
        strategy._exits[data] = FillTally()
        strategy._entry_bar[data] = len(data)
    else:
        total = record.size + abs(extra)
        record.entry_price = (record.entry_price * record.size + price * abs(extra)) / total
        record.size = total
    strategy._owned[data] = owned + extra
    strategy._levels[data] = None  # recomputed from the adopted price below
    for order in strategy._protective[data]:
        if order.alive():
            strategy._expected_cancel.add(order.ref)
            strategy.cancel(order)
    strategy._groups[data] = []
    logger.warning(
        "%s: adopted %g units at %.4f that this strategy did not open "
        "(on_existing_position='adopt'): they get the configured stops", name, extra, price,
    )
    return "adopt"
