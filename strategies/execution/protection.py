"""Protection: placing and cancelling a position's protective orders.

A position is protected by OCO groups (stop, trailing stop, take-profit), one for each filled
part of it, at the levels fixed by its first fill. While an exit or a reduction sells units,
those units keep a *guard*: the stop (and the trailing stop) for exactly the units the closing
order has not sold yet, in one OCO with it. Whichever fills first cancels the other (so a gap
through the stop never sells twice), and after each partial fill of the closing order the guard
is placed again for what it has left, in the same order notification: the broker never holds
fewer stop units than the position. A take-profit that fills in part gets the same: the broker's
OCO cancels its group's stops on the first part, so stops for what it has left join its group.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import backtrader as bt

from bt_attention_lstm.strategies.config import RiskConfig
from bt_attention_lstm.strategies.execution.feed_book import EPS, FeedBook, ProtectLevels
from bt_attention_lstm.strategies.execution.order_registry import OrderHost, OrderRegistry

logger = logging.getLogger(__name__)


def trail_reference(
    data: bt.DataBase, percent: float, long: bool, stop: float | None
) -> float | None:
    """The price a StopTrail starts from (backtrader puts its stop ``percent`` from it): the
    close, or the price whose trailing level is ``stop`` when that one is tighter."""
    close = float(data.close[0])
    if stop is None or not math.isfinite(stop):
        return None  # backtrader's default: this close
    carried = stop / (1.0 - percent) if long else stop / (1.0 + percent)
    return max(close, carried) if long else min(close, carried)


class Protection:
    def __init__(self, host: OrderHost, registry: OrderRegistry, risk: RiskConfig,
                 atr: Callable[[bt.DataBase], float]) -> None:
        self.host = host
        self.registry = registry
        self.risk = risk
        self.atr = atr  # the feed's ATR in price units at this bar (NaN while undefined)

    def levels_for(self, data: bt.DataBase, price: float, long: bool) -> ProtectLevels:
        """Stop (the tighter of ``stop_loss`` and ``atr_stop``), trail and take-profit levels."""
        sign = -1.0 if long else 1.0
        distances = []
        if self.risk.stop_loss:
            distances.append(self.risk.stop_loss * price)
        if self.risk.atr_stop:
            atr = self.atr(data)
            if math.isfinite(atr) and atr > 0:
                distances.append(self.risk.atr_stop * atr)
        take_profit = self.risk.take_profit
        return ProtectLevels(
            stop=price + sign * min(distances) if distances else None,
            trail_percent=self.risk.trail_percent or None,
            take_profit=price * (1.0 - sign * take_profit) if take_profit else None,
        )

    def trail_level(self, book: FeedBook) -> float | None:
        """The tightest current level of the position's live trailing stops (None if none)."""
        levels = [o.created.price for o in book.protective + book.guards
                  if o.alive() and o.exectype == bt.Order.StopTrail]
        if not levels:
            return None
        return max(levels) if book.owned > 0 else min(levels)

    def _stop_orders(self, book: FeedBook, qty: float, long: bool, trail_stop: float | None,
                     role: str, oco: bt.Order | None) -> list[bt.Order]:
        """The stop and trailing stop of ``qty`` units, in one OCO (with ``oco`` if given)."""
        levels = book.levels
        assert levels is not None
        place = self.host.sell if long else self.host.buy
        data = book.data
        placed: list[bt.Order] = []
        if levels.stop is not None:
            stop = place(data=data, size=qty, exectype=bt.Order.Stop, price=levels.stop, oco=oco)
            if self.registry.track(stop, role, "stop") is not None:
                placed.append(stop)
                oco = oco or stop
        if levels.trail_percent is not None:
            if trail_stop is None:
                trail_stop = self.trail_level(book)
            trail = place(
                data=data, size=qty, exectype=bt.Order.StopTrail,
                price=trail_reference(data, levels.trail_percent, long, trail_stop),
                trailpercent=levels.trail_percent, oco=oco,
            )
            if self.registry.track(trail, role, "trail") is not None:
                placed.append(trail)
        return placed

    def place_group(self, book: FeedBook, qty: float, long: bool,
                    trail_stop: float | None = None) -> None:
        """One OCO group of protective orders for ``qty`` units at the position's levels.

        A trailing stop starts at ``trail_stop`` (default: the level of the position's live
        trailing stops) when that is tighter than a fresh one from this close."""
        levels = book.levels
        if levels is None or not levels.any or qty < EPS:
            return
        group = self._stop_orders(book, qty, long, trail_stop, "protective", None)
        if levels.take_profit is not None:
            place = self.host.sell if long else self.host.buy
            tp = place(data=book.data, size=qty, exectype=bt.Order.Limit,
                       price=levels.take_profit, oco=group[0] if group else None)
            if self.registry.track(tp, "protective", "take-profit") is not None:
                group.append(tp)
        book.groups = [g for g in book.groups if any(o.alive() for o in g)] + [group]
        self.registry.group_of.update((o.ref, group) for o in group)
        book.protective = book.alive_protective() + group
        logger.debug("%s: protective orders for %s: %s", book.name, qty,
                     [(self.registry.reason(o.ref), o.created.price) for o in group])

    def guard_take_profit_rest(self, book: FeedBook, ref: int, rest: float, long: bool) -> None:
        """The take-profit ``ref`` filled in part, and the broker's OCO cancelled its group's
        stops on that fill: stops for the ``rest`` it has yet to sell join its group, in one OCO
        with it. A trailing stop goes on from where the group's last one stood."""
        group = self.registry.group_of.get(ref)
        if group is None or book.levels is None or rest < EPS:
            return
        take_profit = next(o for o in group if o.ref == ref)
        trail_stop = next((o.created.price for o in group if o.exectype == bt.Order.StopTrail),
                          None) or self.trail_level(book)
        stops = self._stop_orders(book, rest, long, trail_stop, "protective", take_profit)
        group[:] = [o for o in group if o.alive() or o.ref == ref] + stops
        self.registry.group_of.update((o.ref, group) for o in stops)
        book.protective = book.alive_protective() + stops
        logger.debug("%s: take-profit %d filled in part: stops for its %s units left", book.name,
                     ref, rest)

    def adopt_group(self, book: FeedBook, group: list[bt.Order]) -> None:
        """Orders already at the broker (a guard that fired, orders of a previous session)
        become one of the position's protective groups."""
        for order in group:
            self.registry.roles[order.ref] = "protective"
        book.groups = [g for g in book.groups if any(o.alive() for o in g)] + [group]
        self.registry.group_of.update((o.ref, group) for o in group)
        book.protective = book.alive_protective() + [o for o in group if o.alive()]

    def place_guards(self, book: FeedBook, closing: bt.Order, qty: float, long: bool,
                     trail_stop: float | None = None) -> None:
        """Stops for the ``qty`` units ``closing`` has yet to sell, in one OCO with it."""
        book.guards = [o for o in book.guards if o.alive()]
        if book.levels is None or qty < EPS:
            return
        book.guards += self._stop_orders(book, qty, long, trail_stop, "guard", closing)

    def cancel_guards(self, book: FeedBook) -> None:
        self.registry.cancel(self.host, book.guards)
        book.guards = [o for o in book.guards if o.alive()]

    def cancel_protective(self, book: FeedBook) -> None:
        self.registry.cancel(self.host, book.protective)
        # The broker only cancels orders it has accepted; keep any others for the next try.
        book.protective = book.alive_protective()
