"""Restart safety: the strategy's state as JSON, and reconciliation with the broker's account.

``snapshot`` / ``restore`` turn each ``FeedBook``'s trading state (what the strategy owns, the
open trade record, the protective levels, the last exit for the cooldown, the refs of its
orders at the broker) into JSON and back. ``reconcile`` runs once per feed, on its first
tradable bar, and settles what the state file says against what the broker holds, by one rule:
**the broker is the truth for positions and orders; the state file only for what the broker
cannot know** (which units are the strategy's own, the trade's entry, the levels, the cooldown).

- A saved position the broker no longer holds (or holds on the other side) is forgotten, and
  a smaller one is managed at the broker's size: a WARNING names the state file and both sizes.
- The broker's open orders that the state file names (the previous session's stops, trailing
  stops, take-profits, entries and exits) are re-attached: they are the strategy's again, so
  their fills are counted and no second stop is placed beside them. Orders on the feed that
  the state file does not name are reported and left alone.
- Units the strategy did not open follow ``on_existing_position``: ``adopt`` (manage and
  protect them with the configured stops), ``ignore`` (leave them alone: exits only ever sell
  what the strategy owns), ``refuse`` (stop with a clear error).
- Whatever the strategy owns after that and no live group covers is protected at once.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime
from typing import Any

import backtrader as bt
import numpy as np

from bt_attention_lstm.models.errors import ConfigError
from bt_attention_lstm.strategies.execution.feed_book import (
    EPS,
    FeedBook,
    FillTally,
    LastExit,
    ProtectLevels,
)
from bt_attention_lstm.strategies.execution.feed_roles import feed_name
from bt_attention_lstm.strategies.execution.order_manager import OrderManager
from bt_attention_lstm.strategies.execution.trade_record import TradeRecord

logger = logging.getLogger(__name__)

PROTECTIVE_TYPES = {bt.Order.Stop: "stop", bt.Order.StopTrail: "trail",
                    bt.Order.Limit: "take-profit"}


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


def snapshot_book(book: FeedBook) -> dict[str, Any]:
    record = book.open_trade
    trade = None
    if record is not None:
        trade = _finite(record.to_dict())
        trade["entry_time"] = _iso(record.entry_time)
        trade["exit_time"] = None
    last = book.last_exit
    return {
        "owned": book.owned,
        "trade": trade,
        "exits": _finite(vars(book.exits)) if record is not None else None,
        "levels": vars(book.levels).copy() if book.levels is not None else None,
        "last_exit_time": _iso(last.time) if last else None,
        # vol_target's cooldown only holds back the side a protective order closed
        "last_exit_side": last.side if last else None,
        "last_exit_reason": last.reason if last else None,
        "orders": {
            "entry": _ref(book.entry_order),
            "exit": _ref(book.exit_order),
            "protective": [o.ref for o in book.protective + book.guards if o.alive()],
        },
    }


def snapshot(manager: OrderManager, model_sha256: str) -> dict[str, Any]:
    """The strategy's own state, JSON-ready."""
    datas = {book.name: snapshot_book(book) for book in manager.books.values()}
    return {"model_sha256": model_sha256, "datas": datas}


def restore(manager: OrderManager, state: dict[str, Any], model_sha256: str) -> dict[
        bt.DataBase, set[int]]:
    """Load a snapshot into the books; returns, per feed, the refs of the orders the previous
    session left at the broker (``reconcile`` re-attaches them)."""
    if state.get("model_sha256") not in (None, model_sha256):
        logger.warning(
            "the state file was saved by another model (weights %s); its positions and levels "
            "are restored as they are", str(state.get("model_sha256"))[:8],
        )
    saved = state.get("datas", {})
    refs: dict[bt.DataBase, set[int]] = {}
    for data, book in manager.books.items():
        entry = saved.get(book.name)
        if not entry:
            continue
        book.owned = float(entry.get("owned", 0.0))
        if entry.get("trade"):
            trade = _given(entry["trade"])
            trade["entry_time"] = _time(trade.get("entry_time"))
            book.open_trade = TradeRecord(**trade)
            book.exits = FillTally(**_given(entry.get("exits") or {}))
        if entry.get("levels"):
            book.levels = ProtectLevels(**entry["levels"])
        if entry.get("last_exit_time"):
            book.last_exit = LastExit(None, _time(entry["last_exit_time"]),
                                      str(entry.get("last_exit_side") or ""),
                                      str(entry.get("last_exit_reason") or "signal"))
        orders = entry.get("orders") or {}
        old = [r for r in (orders.get("entry"), orders.get("exit")) if r is not None]
        refs[data] = {int(r) for r in old + list(orders.get("protective") or [])}
        logger.info("%s: state restored: owns %g%s", book.name, book.owned,
                    " with an open trade" if book.open_trade else "")
    return refs


def _restore_cooldown(book: FeedBook) -> None:
    """A saved exit time -> the bar index of that exit in this session's history."""
    last = book.last_exit
    if last is None or last.bar is not None or last.time is None:
        return
    data = book.data
    times = np.asarray(data.datetime.get(size=len(data)))
    later = int(np.sum(times > bt.date2num(last.time)))
    last.bar = len(data) - later


def _reattach(manager: OrderManager, book: FeedBook, broker: Any, saved: set[int]) -> None:
    """Make the previous session's open orders at the broker the strategy's again."""
    theirs = [o for o in getattr(broker, "orders", ()) if o.data is book.data and o.alive()
              and manager.role(o.ref) is None]
    mine = [o for o in theirs if o.ref in saved]
    others = [o.ref for o in theirs if o.ref not in saved]
    if others:
        logger.warning("%s: the broker holds open orders %s the state file does not name: "
                       "left alone", book.name, others)
    if not mine:
        if saved:
            logger.warning("%s: the previous session's orders %s are no longer open at the "
                           "broker", book.name, sorted(saved))
        return
    registry = manager.registry
    groups: dict[float, list[bt.Order]] = {}
    for order in mine:
        registry.seen[order.ref] = (order.executed.size,
                                    order.executed.size * order.executed.price,
                                    order.executed.comm)
        kind = PROTECTIVE_TYPES.get(order.exectype)
        if kind is None:  # a market entry or exit still working
            role = "entry" if book.flat or (order.isbuy() == (book.owned > 0)) else "exit"
            registry.track(order, role, "entry" if role == "entry" else "signal")
            if role == "entry":
                book.entry_order = order
            else:
                book.exit_order = order
            continue
        registry.track(order, "protective", kind)
        groups.setdefault(round(abs(order.executed.remsize), 9), []).append(order)
    for group in groups.values():
        manager.protection.adopt_group(book, group)
    logger.info("%s: re-attached the previous session's open orders %s", book.name,
                [o.ref for o in mine])


def reconcile(manager: OrderManager, data: bt.DataBase, broker: Any, rule: str,
              saved_orders: set[int], state_path: str | None) -> str | None:
    """Align the book with the broker; returns an action when orders were placed."""
    book = manager.book(data)
    _restore_cooldown(book)
    broker_size = float(broker.getposition(data).size)
    owned = book.owned
    source = f"the state file {state_path}" if state_path else "the strategy"
    if abs(owned) >= EPS and (abs(broker_size) < EPS or (broker_size > 0) != (owned > 0)):
        logger.warning(
            "%s: %s says the strategy owns %g; the broker's account holds %g: the broker is "
            "the truth for positions, so the saved position is forgotten (closed while the "
            "strategy was away; its trade is not recorded)", book.name, source, owned,
            broker_size,
        )
        book.forget_position()
        owned = 0.0
    elif abs(broker_size) + EPS < abs(owned):
        logger.warning(
            "%s: %s says the strategy owns %g; the broker's account holds %g: the broker is "
            "the truth for positions, so %g are managed", book.name, source, owned,
            broker_size, broker_size,
        )
        book.owned = owned = broker_size
        if book.open_trade is not None:
            book.open_trade.size = abs(broker_size)
    _reattach(manager, book, broker, saved_orders)
    extra = broker_size - owned
    action = None
    if abs(extra) >= EPS:
        action = _existing_position(manager, book, extra, float(broker.getposition(data).price),
                                    rule)
    if not book.flat and book.coverage() < abs(book.owned) - EPS:
        if book.levels is None:
            record = book.open_trade
            price = record.entry_price if record is not None else \
                float(broker.getposition(data).price)
            book.levels = manager.protection.levels_for(data, price, book.owned > 0)
        missing = abs(book.owned) - book.coverage()
        manager.protection.place_group(book, missing, book.owned > 0)
        logger.info("%s: protecting %g of the position of %g", book.name, missing, book.owned)
        action = action or "protect"
    manager.mark_changed()
    return action


def _existing_position(manager: OrderManager, book: FeedBook, extra: float, price: float,
                       rule: str) -> str | None:
    if rule == "refuse":
        raise ConfigError(
            f"{book.name}: the broker holds {extra:g} units this strategy did not open "
            "(`on_existing_position`='refuse'): close them, or set on_existing_position to "
            "'adopt' (manage and protect them) or 'ignore' (leave them alone)"
        )
    if rule == "ignore":
        logger.warning(
            "%s: the broker holds %g units this strategy did not open: leaving them alone "
            "(on_existing_position='ignore')", book.name, extra,
        )
        return None
    record = book.open_trade
    data = book.data
    if record is None:
        book.open_trade = TradeRecord(
            data=feed_name(data), side="long" if extra > 0 else "short", size=abs(extra),
            entry_time=data.datetime.datetime(0), entry_price=price,
        )
        book.exits = FillTally()
        book.entry_bar = len(data)
    else:
        total = record.size + abs(extra)
        record.entry_price = (record.entry_price * record.size + price * abs(extra)) / total
        record.size = total
    book.owned += extra
    book.levels = None  # recomputed from the adopted price
    manager.protection.cancel_protective(book)
    book.groups = []
    logger.warning(
        "%s: adopted %g units at %.4f that this strategy did not open "
        "(on_existing_position='adopt'): they get the configured stops", book.name, extra,
        price,
    )
    return "adopt"
