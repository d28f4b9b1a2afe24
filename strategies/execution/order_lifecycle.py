"""OrderLifecycle: every broker order event handled, for entries, exits and protective orders.

Real brokers reject, cancel, expire and fill in parts. The rules, for every order of ours:

- Fills are counted as they come (``Partial`` and ``Completed`` carry the cumulative execution):
  the strategy's own position (``owned``) and its trade record follow every part.
- Each filled part of an entry is protected at once by a protective group (stop, trailing stop,
  take-profit in one OCO) of exactly that size, at the levels fixed by the first fill; so the
  protective orders always add up to the position actually held.
- A dead order (Canceled, Expired, Margin, Rejected) is never waited on: its slot is cleared.
- A position whose protective orders died (a rejected stop, a rejected exit whose stops were
  already cancelled) is protected again on the next bar, with a WARNING; after
  ``max_order_retries`` failed attempts it is closed at market instead of being left naked.
- Exits sell only what the strategy owns (or adopted), never the broker's whole position.
- An increase is an entry of the difference: its filled parts get their own groups, at the
  position's levels. A reduction (role ``reduce``, volatility targeting) cancels the protective
  orders, sells (buys) the difference, and places one group for what stays, at the same levels,
  in the same bar: the stops never cover more than will be held (a stop and the reduction both
  filling cannot overshoot flat) and the units that stay are never unprotected, even while the
  reduction fills in parts. A reduction that dies is followed by protection for the units it
  did not sell.
- A trailing stop placed while the position already has one starts from that one's current
  level (its high-water mark), so a resized position keeps one trailing level.

A mixin of ``AttentionLSTMStrategy``: it reads the strategy's params (stop_loss, atr_stop,
trail_percent, take_profit, max_order_retries) and its ``features``, ``decisions`` and
``_finish``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import backtrader as bt

from bt_attention_lstm.strategies.execution.trade_record import TradeRecord

logger = logging.getLogger(__name__)

EPS = 1e-9  # sizes below this are zero (fractional sizes are floats)
# Exit reasons of protective orders: vol_target's cooldown follows them.
PROTECTIVE_REASONS = frozenset({"stop", "trail", "take-profit"})


@dataclass
class FillTally:
    """Size-weighted average of the exit fills of the open trade (entries live in the record)."""

    size: float = 0.0
    notional: float = 0.0
    first_price: float = float("nan")
    fills: int = 0

    def add(self, size: float, price: float) -> None:
        if self.fills == 0:
            self.first_price = price
        self.size += size
        self.notional += size * price
        self.fills += 1

    @property
    def price(self) -> float:
        # One fill: its price exactly (no division round-off), as a single-fill backtest reports.
        return self.first_price if self.fills == 1 else self.notional / self.size


@dataclass
class ProtectLevels:
    """Where a position's protective orders sit, fixed when its first part fills."""

    stop: float | None = None
    trail_percent: float | None = None
    take_profit: float | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.stop, self.trail_percent, self.take_profit))


def _dead(order: bt.Order) -> bool:
    return order.status in (order.Canceled, order.Expired, order.Margin, order.Rejected)


class OrderLifecycle:
    """Order bookkeeping and event handling (see the module docstring)."""

    def _init_lifecycle(self) -> None:
        datas = self.datas
        self._entry_order: dict[bt.DataBase, bt.Order | None] = {d: None for d in datas}
        self._exit_order: dict[bt.DataBase, bt.Order | None] = {d: None for d in datas}
        self._protective: dict[bt.DataBase, list[bt.Order]] = {d: [] for d in datas}
        self._groups: dict[bt.DataBase, list[list[bt.Order]]] = {d: [] for d in datas}
        # protective ref -> its OCO group, until the order is done (``_groups`` drops a group as
        # soon as none of it is alive, before all of its notifications have arrived)
        self._group_of: dict[int, list[bt.Order]] = {}
        self._order_reason: dict[int, str] = {}
        self._roles: dict[int, str] = {}
        # ref -> what was already counted: cumulative (size, size * price, commission)
        self._seen: dict[int, tuple[float, float, float]] = {}
        self._expected_cancel: set[int] = set()
        self._open_trade: dict[bt.DataBase, TradeRecord | None] = {d: None for d in datas}
        self._exits: dict[bt.DataBase, FillTally] = {d: FillTally() for d in datas}
        self._owned: dict[bt.DataBase, float] = {d: 0.0 for d in datas}
        self._levels: dict[bt.DataBase, ProtectLevels | None] = {d: None for d in datas}
        self._protect_attempts: dict[bt.DataBase, int] = {d: 0 for d in datas}
        # datas whose dead reduction left units without a group: protected in next()
        self._reprotect: set[bt.DataBase] = set()
        self._last_exit_bar: dict[bt.DataBase, int] = {}
        self._last_exit_time: dict[bt.DataBase, Any] = {}
        self._last_exit_side: dict[bt.DataBase, str] = {}  # "long" | "short"
        self._last_exit_reason: dict[bt.DataBase, str] = {}
        self._entry_bar: dict[bt.DataBase, int] = {}
        self.state_changed = False

    # -- placing orders ------------------------------------------------------------------------
    def _track(self, order: bt.Order | None, role: str, reason: str) -> bt.Order | None:
        if order is not None:
            self._roles[order.ref] = role
            self._order_reason[order.ref] = reason
            self.state_changed = True
        return order

    def _enter(self, data: bt.DataBase, long: bool) -> bool:
        order = self.buy(data=data) if long else self.sell(data=data)
        if order is None:
            return False  # the sizer found nothing to buy
        self._entry_order[data] = self._track(order, "entry", "entry")
        return True

    def _exit(self, data: bt.DataBase, reason: str) -> None:
        """Close what the strategy owns (never more), after cancelling its protective orders."""
        self._cancel_protective(data)
        owned = self._owned[data]
        if abs(owned) < EPS:
            return
        order = self.sell(data=data, size=owned) if owned > 0 else self.buy(data=data, size=-owned)
        self._exit_order[data] = self._track(order, "exit", reason)

    def _reduce(self, data: bt.DataBase, reason: str = "rebalance") -> bool:
        """Sell (buy back) part of the position, sized by the sizer, and protect what stays.

        The protective orders are replaced by one group for the units that stay, at the same
        levels, before the reduction fills (see the module docstring)."""
        owned = self._owned[data]
        long = owned > 0
        size = abs(self.getsizing(data, isbuy=not long))
        if size < EPS:
            return False
        if size >= abs(owned) - EPS:
            self._exit(data, reason)
            return True
        trail = self._trail_level(data)
        self._cancel_protective(data)
        order = self.sell(data=data, size=size) if long else self.buy(data=data, size=size)
        self._exit_order[data] = self._track(order, "reduce", reason)
        self._place_group(data, abs(owned) - size, long, trail_stop=trail)
        return True

    def _trail_level(self, data: bt.DataBase) -> float | None:
        """The tightest current level of the position's live trailing stops (None if none)."""
        levels = [o.created.price for o in self._protective[data]
                  if o.alive() and o.exectype == bt.Order.StopTrail]
        if not levels:
            return None
        return max(levels) if self._owned[data] > 0 else min(levels)

    def _protect_levels(self, data: bt.DataBase, price: float, long: bool) -> ProtectLevels:
        """Stop (the tighter of ``stop_loss`` and ``atr_stop``), trail and take-profit levels."""
        sign = -1.0 if long else 1.0
        distances = []
        if self.p.stop_loss:
            distances.append(self.p.stop_loss * price)
        if self.p.atr_stop:
            atr = self.features[data].atr_ratio[0] * data.close[0]
            if math.isfinite(atr) and atr > 0:
                distances.append(self.p.atr_stop * atr)
        return ProtectLevels(
            stop=price + sign * min(distances) if distances else None,
            trail_percent=self.p.trail_percent or None,
            take_profit=price * (1.0 - sign * self.p.take_profit) if self.p.take_profit else None,
        )

    def _place_group(
        self, data: bt.DataBase, qty: float, long: bool, trail_stop: float | None = None
    ) -> None:
        """One OCO group of protective orders for ``qty`` units at the position's levels.

        A trailing stop starts at ``trail_stop`` (default: the level of the position's live
        trailing stops) when that is tighter than a fresh one from this close."""
        levels = self._levels[data]
        if levels is None or not levels.any or qty < EPS:
            return
        if trail_stop is None:
            trail_stop = self._trail_level(data)
        exit_order = self.sell if long else self.buy
        group: list[bt.Order] = []
        oco = None
        if levels.stop is not None:
            oco = exit_order(data=data, size=qty, exectype=bt.Order.Stop, price=levels.stop)
            group.append(self._track(oco, "protective", "stop"))
        if levels.trail_percent is not None:
            trail = exit_order(
                data=data,
                size=qty,
                exectype=bt.Order.StopTrail,
                price=self._trail_reference(data, levels.trail_percent, long, trail_stop),
                trailpercent=levels.trail_percent,
                oco=oco,
            )
            oco = oco or trail
            group.append(self._track(trail, "protective", "trail"))
        if levels.take_profit is not None:
            tp = exit_order(
                data=data, size=qty, exectype=bt.Order.Limit, price=levels.take_profit, oco=oco
            )
            group.append(self._track(tp, "protective", "take-profit"))
        self._groups[data] = [g for g in self._groups[data] if any(o.alive() for o in g)] + [group]
        self._group_of.update((o.ref, group) for o in group)
        self._protective[data] = [o for o in self._protective[data] if o.alive()] + group
        logger.debug(
            "%s: protective orders for %s: %s",
            data._name,
            qty,
            [(self._order_reason[o.ref], o.created.price) for o in group],
        )

    @staticmethod
    def _trail_reference(
        data: bt.DataBase, percent: float, long: bool, stop: float | None
    ) -> float | None:
        """The price a StopTrail starts from (backtrader puts its stop ``percent`` from it):
        the close, or the price whose trailing level is ``stop`` when that one is tighter."""
        close = float(data.close[0])
        if stop is None or not math.isfinite(stop):
            return None  # backtrader's default: this close
        carried = stop / (1.0 - percent) if long else stop / (1.0 + percent)
        return max(close, carried) if long else min(close, carried)

    def _cancel_protective(self, data: bt.DataBase) -> None:
        alive = [o for o in self._protective[data] if o.alive()]
        # Mark them all first: cancelling one cancels its OCO siblings at once.
        self._expected_cancel.update(o.ref for o in alive)
        for order in alive:
            if order.alive():
                self.cancel(order)
        # The broker only cancels orders it has accepted; keep any others for the next try.
        self._protective[data] = [o for o in self._protective[data] if o.alive()]

    def _protection_pending(self, data: bt.DataBase) -> bool:
        """Protective orders created but not yet accepted cannot be cancelled this bar."""
        return any(o.status in (o.Created, o.Submitted) for o in self._protective[data])

    def _coverage(self, data: bt.DataBase) -> float:
        """Units covered by live protective groups (each group counts once)."""
        total = 0.0
        for group in self._groups[data]:
            alive = [abs(o.executed.remsize) for o in group if o.alive()]
            total += max(alive, default=0.0)
        return total

    def _repair_protection(self, data: bt.DataBase) -> str | None:
        """Protect the part of the position whose protective orders died; None if all is well."""
        owned = self._owned[data]
        levels = self._levels[data]
        if abs(owned) < EPS or levels is None or not levels.any:
            return None
        if self._exit_order[data] is not None or self._protection_pending(data):
            return None  # closing on purpose, or protection on its way
        missing = abs(owned) - self._coverage(data)
        if missing < EPS:
            self._protect_attempts[data] = 0
            return None
        self._protect_attempts[data] += 1
        attempt = self._protect_attempts[data]
        if attempt > self.p.max_order_retries:
            self._order_event(
                data,
                f"UNPROTECTED: {missing:g} of {abs(owned):g} units after {attempt - 1} failed "
                "protective orders: closing the position at market",
                warning=True,
            )
            self._exit(data, "unprotected")
            return "exit"
        self._order_event(
            data,
            f"unprotected: {missing:g} of {abs(owned):g} units have no protective order: "
            f"placing them again (attempt {attempt} of {self.p.max_order_retries})",
            warning=True,
        )
        self._place_group(data, missing, owned > 0)
        return "protect"

    # -- order events --------------------------------------------------------------------------
    def notify_order(self, order: bt.Order) -> None:
        if order.status in (order.Submitted, order.Accepted):
            return
        role = self._roles.get(order.ref)
        if role is None:
            return  # not ours: the user's, or another strategy's
        data = order.data
        self.state_changed = True
        self._count_fill(data, order, role)
        if order.status == order.Partial:
            return
        if role == "entry":
            self._entry_done(data, order)
        elif role == "exit":
            self._exit_done(data, order)
        elif role == "reduce":
            self._reduce_done(data, order)
        elif _dead(order):
            self._protective_died(data, order)
        if role == "protective":
            self._group_of.pop(order.ref, None)

    def _count_fill(self, data: bt.DataBase, order: bt.Order, role: str) -> None:
        """Apply the part of ``order`` executed since its last notification."""
        executed = order.executed
        size, notional = executed.size, executed.size * executed.price
        prev_size, prev_notional, prev_comm = self._seen.get(order.ref, (0.0, 0.0, 0.0))
        delta = size - prev_size
        if abs(delta) < EPS:
            return
        self._seen[order.ref] = (size, notional, executed.comm)
        # The first part's price exactly; later parts from the change of the cumulative notional.
        price = executed.price if prev_size == 0 else (notional - prev_notional) / delta
        comm = executed.comm - prev_comm
        before = self._owned[data]
        self._owned[data] = before + delta
        if abs(before) < EPS or (before > 0) == (delta > 0):
            self._add_to_position(data, order, delta, price, comm, protect=role == "entry")
        else:
            record = self._open_trade[data]
            self._exits[data].add(abs(delta), price)
            if record is not None:
                record.commission += comm
        if abs(self._owned[data]) < EPS:
            self._owned[data] = 0.0
            self._flat(data, order)

    def _add_to_position(
        self, data: bt.DataBase, order: bt.Order, delta: float, price: float, comm: float,
        protect: bool,
    ) -> None:
        record = self._open_trade[data]
        if record is None:
            record = self._open_trade[data] = TradeRecord(
                data=data._name or "data0",
                side="long" if delta > 0 else "short",
                size=0.0,
                entry_time=bt.num2date(order.executed.dt),
                entry_price=price,
                commission=0.0,
            )
            self._exits[data] = FillTally()
            self._entry_bar[data] = len(data)
            self._levels[data] = self._protect_levels(data, price, delta > 0)
        else:
            total = record.size + abs(delta)
            record.entry_price = (record.entry_price * record.size + price * abs(delta)) / total
        record.size += abs(delta)
        record.commission += comm
        if protect:
            self._place_group(data, abs(delta), delta > 0)

    def _flat(self, data: bt.DataBase, order: bt.Order) -> None:
        """The strategy's position is closed: cancel what is left, close the trade record."""
        self._cancel_protective(data)
        for pending in (self._entry_order[data], self._exit_order[data]):
            # an entry, or a reduction overtaken by a stop: nothing is left to trade
            if pending is not None and pending.alive() and pending.ref != order.ref:
                self._expected_cancel.add(pending.ref)
                self.cancel(pending)
        self._last_exit_bar[data] = len(data)
        self._last_exit_side[data] = "short" if order.isbuy() else "long"
        self._last_exit_reason[data] = self._order_reason.get(order.ref, "signal")
        self._last_exit_time[data] = bt.num2date(order.executed.dt)
        self._levels[data] = None
        self._protect_attempts[data] = 0
        record = self._open_trade[data]
        self._open_trade[data] = None
        if record is None:
            return
        reason = self._order_reason.get(order.ref, "signal")
        tally = self._exits[data]
        record.exit_time = bt.num2date(order.executed.dt)
        record.exit_price = tally.price
        record.exit_reason = reason
        self._finish(data, record)
        logger.debug("%s: exit filled (%s) at %.4f", data._name, reason, tally.price)

    def _entry_done(self, data: bt.DataBase, order: bt.Order) -> None:
        if self._is(order, self._entry_order[data]):
            self._entry_order[data] = None
        if order.status == order.Completed:
            self._on_entry_fill(data, order)
        elif order.ref not in self._expected_cancel:
            self._order_event(
                data,
                f"entry order {order.getstatusname()} (filled {abs(order.executed.size):g} "
                f"of {abs(order.created.size):g})",
                warning=data.islive() or order.status == order.Rejected,
            )

    def _exit_done(self, data: bt.DataBase, order: bt.Order) -> None:
        if self._is(order, self._exit_order[data]):
            self._exit_order[data] = None
        if order.status != order.Completed and abs(self._owned[data]) >= EPS:
            self._order_event(
                data,
                f"exit order {order.getstatusname()}: {abs(self._owned[data]):g} units still "
                "held; its protective orders are placed again",
                warning=True,
            )

    def _reduce_done(self, data: bt.DataBase, order: bt.Order) -> None:
        """A reduction finished or died. Completed: what stays was protected when it was sent.
        Died: the units it did not sell get a group in next() (``_settle_protection``), once
        every notification of the bar is counted: a stop that filled in the same bar may not
        be counted yet here, and a group placed for it would outlive the position."""
        if self._is(order, self._exit_order[data]):
            self._exit_order[data] = None
        if order.status == order.Completed or order.ref in self._expected_cancel:
            return
        self._order_event(
            data,
            f"reduction {order.getstatusname()} (filled {abs(order.executed.size):g} of "
            f"{abs(order.created.size):g}): the units it did not sell are protected again",
            warning=data.islive() or order.status in (order.Rejected, order.Margin),
        )
        self._reprotect.add(data)

    def _settle_protection(self, data: bt.DataBase) -> str | None:
        """Protect, at the position's levels, the units a dead reduction left uncovered."""
        if data not in self._reprotect:
            return None
        self._reprotect.discard(data)
        owned = self._owned[data]
        if abs(owned) < EPS or self._exit_order[data] is not None:
            return None
        missing = abs(owned) - self._coverage(data)
        if missing < EPS:
            return None
        self._place_group(data, missing, owned > 0)
        return "protect"

    def _protective_died(self, data: bt.DataBase, order: bt.Order) -> None:
        self._protective[data] = [o for o in self._protective[data] if o.alive()]
        expected = order.ref in self._expected_cancel
        self._expected_cancel.discard(order.ref)
        owned = abs(self._owned[data])
        refused = order.status in (order.Rejected, order.Margin)
        if expected or (owned < EPS or self._exit_order[data] is not None) and not refused:
            return  # cancelled by us, or the position is being closed
        if not refused and self._sibling_filled(data, order):
            # the OCO cancel of a fill; with several groups at one level, the other groups'
            # fills of this bar may not be counted yet: the next bar's check sees the truth
            return
        covered = self._coverage(data) >= owned - EPS
        if covered and not refused:
            return  # an OCO sibling of a fill: the rest of the position is covered
        self._order_event(
            data,
            f"{self._order_reason.get(order.ref, 'protective')} order "
            f"{order.getstatusname()}: "
            + ("a new one is already on its way" if covered
               else f"position of {owned:g} units not fully protected"),
            warning=True,
        )

    def _sibling_filled(self, data: bt.DataBase, order: bt.Order) -> bool:
        """Whether another order of ``order``'s protective group has executed (in part)."""
        group = self._group_of.get(order.ref, ())
        return any(o.ref != order.ref and abs(o.executed.size) >= EPS for o in group)

    def _on_entry_fill(self, data: bt.DataBase, order: bt.Order) -> None:
        """The entry order is complete (its parts were counted and protected as they came)."""
        logger.debug(
            "%s: entry filled %+.4f at %.4f", data._name, order.executed.size,
            order.executed.price,
        )

    @staticmethod
    def _is(order: bt.Order, tracked: bt.Order | None) -> bool:
        # The broker notifies clones of its orders: match by reference number, not identity.
        return tracked is not None and order.ref == tracked.ref

    def _order_event(self, data: bt.DataBase, message: str, warning: bool = False) -> None:
        when = data.datetime.datetime(0) if len(data) else None
        self.decisions.event(when, data._name or "data0", message, warning=warning)
