"""OrderManager: entries, exits, reductions and their protection; every broker order event.

Real brokers reject, cancel, expire and fill in parts. The rules, for every order of ours:

- Fills are counted as they come (``Partial`` and ``Completed`` carry the cumulative execution):
  what the strategy owns (``FeedBook.owned``) and its trade record follow every part.
- Each filled part of an entry is protected at once by a protective group (stop, trailing stop,
  take-profit in one OCO) of exactly that size, at the levels fixed by the first fill; so the
  protective orders always add up to the position actually held.
- An exit cancels the groups and sends a market order for what the strategy owns (never the
  broker's whole position); its unsold units keep a guard (see ``protection``) that is placed
  again after each partial fill, in the same notification. A reduction (volatility targeting)
  does the same for the units it sells, and places one group for the units that stay, at the
  same levels (the trailing stop's current level included), in the same bar.
- A dead order (Canceled, Expired, Margin, Rejected) is never waited on: its slot is cleared.
- A position whose protective orders died (a rejected stop, a rejected exit) is protected again
  on the next bar, with a WARNING; after ``max_order_retries`` failed attempts it is closed at
  market instead of being left naked. A reduction that dies is followed by protection for the
  units it did not sell.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import backtrader as bt

from bt_attention_lstm.strategies.config import RiskConfig
from bt_attention_lstm.strategies.execution.feed_book import (
    EPS,
    FeedBook,
    FillTally,
    LastExit,
)
from bt_attention_lstm.strategies.execution.feed_roles import feed_name
from bt_attention_lstm.strategies.execution.order_registry import (
    OrderHost,
    OrderRegistry,
    is_dead,
    same_order,
)
from bt_attention_lstm.strategies.execution.protection import Protection
from bt_attention_lstm.strategies.execution.trade_record import TradeRecord

logger = logging.getLogger(__name__)

# Exit reasons of protective orders: vol_target's cooldown follows them.
PROTECTIVE_REASONS = frozenset({"stop", "trail", "take-profit"})

# (book, message, warning) -> the decision log
EventSink = Callable[[FeedBook, str, bool], None]


class OrderManager:
    def __init__(self, host: OrderHost, datas: Iterable[bt.DataBase], risk: RiskConfig,
                 atr: Callable[[bt.DataBase], float], events: EventSink) -> None:
        self.host = host
        self.risk = risk
        self.registry = OrderRegistry()
        self.protection = Protection(host, self.registry, risk, atr)
        self.events = events
        self.books: dict[bt.DataBase, FeedBook] = {
            d: FeedBook(d, feed_name(d, i)) for i, d in enumerate(datas)
        }
        self.trades: list[TradeRecord] = []  # closed trades, in the order they closed

    def book(self, data: bt.DataBase) -> FeedBook:
        return self.books[data]

    def role(self, ref: int) -> str | None:
        """"entry", "exit", "reduce", "protective" or "guard"; None for an order not ours."""
        return self.registry.role(ref)

    @property
    def changed(self) -> bool:
        return self.registry.changed

    def mark_saved(self) -> None:
        self.registry.changed = False

    def mark_changed(self) -> None:
        self.registry.changed = True

    # -- decisions -----------------------------------------------------------------------------
    def enter(self, data: bt.DataBase, long: bool) -> bool:
        order = self.host.buy(data=data) if long else self.host.sell(data=data)
        if order is None:
            return False  # the sizer found nothing to buy
        self.books[data].entry_order = self.registry.track(order, "entry", "entry")
        return True

    def exit(self, data: bt.DataBase, reason: str) -> None:
        """Close what the strategy owns (never more); its units stay guarded until sold."""
        book = self.books[data]
        trail = self.protection.trail_level(book)
        self.protection.cancel_protective(book)
        if book.flat:
            return
        owned = book.owned
        order = self._close(data, owned > 0, abs(owned))
        book.exit_order = self.registry.track(order, "exit", reason)
        if order is not None:
            self.protection.place_guards(book, order, abs(owned), owned > 0, trail)

    def reduce(self, data: bt.DataBase, reason: str = "rebalance") -> bool:
        """Sell (buy back) part of the position, sized by the sizer; what stays is protected
        by a new group and what is sold by a guard, both before the reduction fills."""
        book = self.books[data]
        long = book.owned > 0
        size = abs(self.host.getsizing(data, isbuy=not long))
        if size < EPS:
            return False
        if size >= abs(book.owned) - EPS:
            self.exit(data, reason)
            return True
        trail = self.protection.trail_level(book)
        self.protection.cancel_protective(book)
        order = self._close(data, long, size)
        book.exit_order = self.registry.track(order, "reduce", reason)
        self.protection.place_group(book, abs(book.owned) - size, long, trail_stop=trail)
        if order is not None:
            self.protection.place_guards(book, order, size, long, trail)
        return True

    def _close(self, data: bt.DataBase, long: bool, size: float) -> bt.Order | None:
        return self.host.sell(data=data, size=size) if long else self.host.buy(data=data,
                                                                                size=size)

    # -- protection kept whole -----------------------------------------------------------------
    def settle(self, data: bt.DataBase) -> str | None:
        """Protect, at the position's levels, the units a dead reduction left uncovered."""
        book = self.books[data]
        if not book.reprotect:
            return None
        book.reprotect = False
        if book.flat or book.exit_order is not None:
            return None
        missing = abs(book.owned) - book.coverage()
        if missing < EPS:
            return None
        self.protection.place_group(book, missing, book.owned > 0)
        return "protect"

    def repair(self, data: bt.DataBase) -> str | None:
        """Protect the part of the position whose protective orders died; None if all is well."""
        book = self.books[data]
        if book.flat or book.levels is None or not book.levels.any:
            return None
        if book.exit_order is not None or book.protection_pending():
            return None  # closing on purpose, or protection on its way
        missing = abs(book.owned) - book.coverage()
        if missing < EPS:
            book.protect_attempts = 0
            return None
        book.protect_attempts += 1
        attempt, retries = book.protect_attempts, self.risk.max_order_retries
        if attempt > retries:
            self.events(book, f"UNPROTECTED: {missing:g} of {abs(book.owned):g} units after "
                        f"{attempt - 1} failed protective orders: closing the position at "
                        "market", True)
            self.exit(data, "unprotected")
            return "exit"
        self.events(book, f"unprotected: {missing:g} of {abs(book.owned):g} units have no "
                    f"protective order: placing them again (attempt {attempt} of {retries})",
                    True)
        self.protection.place_group(book, missing, book.owned > 0)
        return "protect"

    # -- order events --------------------------------------------------------------------------
    def notify_order(self, order: bt.Order) -> None:
        if order.status in (order.Submitted, order.Accepted):
            return
        role = self.registry.role(order.ref)
        if role is None:
            return  # not ours: the user's, or another strategy's
        book = self.books[order.data]
        self.registry.changed = True
        self._count_fill(book, order, role)
        if role in ("exit", "reduce") and order.alive():
            self._guard_rest(book, order)
        if role == "guard" and abs(order.executed.size) >= EPS:
            self._guard_fired(book, order)
        if role == "protective" and abs(order.executed.size) >= EPS:
            self._protective_filled(book, order)
        if order.status == order.Partial:
            return
        if role == "entry":
            self._entry_done(book, order)
        elif role in ("exit", "reduce"):
            self._closing_done(book, order, role)
        elif role == "protective":
            if is_dead(order):
                self._protective_died(book, order)
            self.registry.group_of.pop(order.ref, None)

    def _guard_rest(self, book: FeedBook, order: bt.Order) -> None:
        """A closing order filled in part: the broker's OCO cancelled its guard; guard what
        it has left to sell, at once."""
        if not same_order(order, book.exit_order) or book.flat:
            return
        rest = min(abs(order.executed.remsize), abs(book.owned))
        trail = self.protection.trail_level(book)
        self.protection.cancel_guards(book)
        self.protection.place_guards(book, book.exit_order, rest, book.owned > 0, trail)

    def _guard_fired(self, book: FeedBook, order: bt.Order) -> None:
        """A guard filled before its closing order: the closing order must not sell too."""
        guards = [o for o in book.guards if o.alive()]
        book.guards = []
        closing = book.exit_order
        if closing is not None and closing.alive():
            self.registry.cancel(self.host, [closing])
        if guards and not book.flat:
            self.protection.adopt_group(book, guards)

    def _protective_filled(self, book: FeedBook, order: bt.Order) -> None:
        """A protective order filled, in whole or in part. A take-profit with units left to sell
        gets stops for them (the broker's OCO took its group's stops away on the first part).
        A stop or trailing stop cancels what is left of its group: once a take-profit has
        filled in part, its new stops are no longer in the broker's OCO list with it, so the
        broker would let both sell."""
        if book.flat:
            return
        if self.registry.reason(order.ref) == "take-profit":
            if order.alive():
                rest = min(abs(order.executed.remsize), abs(book.owned))
                self.protection.guard_take_profit_rest(book, order.ref, rest, book.owned > 0)
            return
        group = self.registry.group_of.get(order.ref, [])
        self.registry.cancel(self.host, [o for o in group if o.ref != order.ref and o.alive()])

    def _count_fill(self, book: FeedBook, order: bt.Order, role: str) -> None:
        """Apply the part of ``order`` executed since its last notification."""
        executed = order.executed
        size, notional = executed.size, executed.size * executed.price
        prev_size, prev_notional, prev_comm = self.registry.seen.get(order.ref, (0.0, 0.0, 0.0))
        delta = size - prev_size
        if abs(delta) < EPS:
            return
        self.registry.seen[order.ref] = (size, notional, executed.comm)
        # The first part's price exactly; later parts from the change of the cumulative notional.
        price = executed.price if prev_size == 0 else (notional - prev_notional) / delta
        comm = executed.comm - prev_comm
        before = book.owned
        book.owned = before + delta
        if abs(before) < EPS or (before > 0) == (delta > 0):
            self._add_to_position(book, order, delta, price, comm, protect=role == "entry")
        else:
            book.exits.add(abs(delta), price)
            if book.open_trade is not None:
                book.open_trade.commission += comm
        if book.flat:
            book.owned = 0.0
            self._flat(book, order)

    def _add_to_position(self, book: FeedBook, order: bt.Order, delta: float, price: float,
                         comm: float, protect: bool) -> None:
        record = book.open_trade
        if record is None:
            record = book.open_trade = TradeRecord(
                data=feed_name(book.data),
                side="long" if delta > 0 else "short",
                size=0.0,
                entry_time=bt.num2date(order.executed.dt),
                entry_price=price,
                commission=0.0,
            )
            book.exits = FillTally()
            book.entry_bar = len(book.data)
            book.levels = self.protection.levels_for(book.data, price, delta > 0)
        else:
            total = record.size + abs(delta)
            record.entry_price = (record.entry_price * record.size + price * abs(delta)) / total
        record.size += abs(delta)
        record.commission += comm
        if protect:
            self.protection.place_group(book, abs(delta), delta > 0)

    def _flat(self, book: FeedBook, order: bt.Order) -> None:
        """The strategy's position is closed: cancel what is left, close the trade record."""
        self.protection.cancel_protective(book)
        self.protection.cancel_guards(book)
        for pending in (book.entry_order, book.exit_order):
            # an entry, or a reduction overtaken by a stop: nothing is left to trade
            if pending is not None and pending.alive() and pending.ref != order.ref:
                self.registry.cancel(self.host, [pending])
        reason = self.registry.reason(order.ref)
        when = bt.num2date(order.executed.dt)
        book.last_exit = LastExit(len(book.data), when, "short" if order.isbuy() else "long",
                                  reason)
        book.levels = None
        book.protect_attempts = 0
        record, book.open_trade = book.open_trade, None
        if record is None:
            return
        record.exit_time = when
        record.exit_price = book.exits.price
        record.exit_reason = reason
        self.finish(book, record)
        logger.debug("%s: exit filled (%s) at %.4f", book.name, reason, record.exit_price)

    def finish(self, book: FeedBook, record: TradeRecord) -> None:
        """Book a closed (or, at the end, still open) trade."""
        now = len(book.data)
        record.bars_held = now - (book.entry_bar if book.entry_bar is not None else now)
        book.entry_bar = None
        direction = 1.0 if record.side == "long" else -1.0
        gross = direction * (record.exit_price - record.entry_price) * record.size
        record.pnl = gross - record.commission
        record.pnl_pct = record.pnl / (record.entry_price * record.size)
        self.trades.append(record)

    def _entry_done(self, book: FeedBook, order: bt.Order) -> None:
        if same_order(order, book.entry_order):
            book.entry_order = None
        if order.status == order.Completed:
            logger.debug("%s: entry filled %+.4f at %.4f", book.name, order.executed.size,
                         order.executed.price)
        elif order.ref not in self.registry.expected_cancel:
            self.events(book, f"entry order {order.getstatusname()} (filled "
                        f"{abs(order.executed.size):g} of {abs(order.created.size):g})",
                        book.data.islive() or order.status == order.Rejected)

    def _closing_done(self, book: FeedBook, order: bt.Order, role: str) -> None:
        """An exit or reduction finished or died. A dead exit's units are protected again by
        ``repair`` on the next bar; a dead reduction's by ``settle``, once every notification
        of the bar is counted (a stop that filled in the same bar may not be counted yet)."""
        if same_order(order, book.exit_order):
            book.exit_order = None
        self.protection.cancel_guards(book)
        expected = order.ref in self.registry.expected_cancel
        if order.status == order.Completed or expected or book.flat:
            return
        if role == "exit":
            self.events(book, f"exit order {order.getstatusname()}: {abs(book.owned):g} units "
                        "still held; its protective orders are placed again", True)
            return
        self.events(book, f"reduction {order.getstatusname()} (filled "
                    f"{abs(order.executed.size):g} of {abs(order.created.size):g}): the units "
                    "it did not sell are protected again",
                    book.data.islive() or order.status in (order.Rejected, order.Margin))
        book.reprotect = True

    def _protective_died(self, book: FeedBook, order: bt.Order) -> None:
        book.protective = book.alive_protective()
        expected = order.ref in self.registry.expected_cancel
        self.registry.expected_cancel.discard(order.ref)
        owned = abs(book.owned)
        refused = order.status in (order.Rejected, order.Margin)
        if expected or (owned < EPS or book.exit_order is not None) and not refused:
            return  # cancelled by us, or the position is being closed
        group = self.registry.group_of.get(order.ref, [])
        if not refused and any(o.ref != order.ref and abs(o.executed.size) >= EPS
                               for o in group):
            # the OCO cancel of a fill; with several groups at one level, the other groups'
            # fills of this bar may not be counted yet: the next bar's check sees the truth
            return
        covered = book.coverage() >= owned - EPS
        if covered and not refused:
            return  # an OCO sibling of a fill: the rest of the position is covered
        self.events(book, f"{self.registry.reason(order.ref, 'protective')} order "
                    f"{order.getstatusname()}: "
                    + ("a new one is already on its way" if covered
                       else f"position of {owned:g} units not fully protected"), True)

    # -- the end of a run ----------------------------------------------------------------------
    def close_open_trades(self) -> None:
        """Book the trades still open, valued at the last close (exit_reason "open")."""
        for book in self.books.values():
            record = book.open_trade
            if record is None:
                continue
            record.exit_time = book.data.datetime.datetime(0)
            # Reductions already sold part of it: the rest is valued at the last close.
            book.exits.add(abs(book.owned), float(book.data.close[0]))
            record.exit_price = book.exits.price
            record.exit_reason = "open"
            self.finish(book, record)
            book.open_trade = None
