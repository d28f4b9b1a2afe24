"""OrderRegistry: which orders are ours, what each is for, and how much of each was counted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import backtrader as bt

# role: entry | exit | reduce | protective | guard
ROLES = ("entry", "exit", "reduce", "protective", "guard")


class OrderHost(Protocol):
    """What the order manager needs of the strategy: backtrader's order calls."""

    buy: Callable[..., bt.Order | None]
    sell: Callable[..., bt.Order | None]

    def cancel(self, order: bt.Order) -> Any: ...

    def getsizing(self, data: bt.DataBase | None = None, isbuy: bool = True) -> float: ...


@dataclass
class OrderRegistry:
    roles: dict[int, str] = field(default_factory=dict)
    reasons: dict[int, str] = field(default_factory=dict)
    # ref -> what was already counted: cumulative (size, size * price, commission)
    seen: dict[int, tuple[float, float, float]] = field(default_factory=dict)
    expected_cancel: set[int] = field(default_factory=set)
    # protective ref -> its OCO group, until the order is done
    group_of: dict[int, list[bt.Order]] = field(default_factory=dict)
    changed: bool = False  # something the restart state holds changed since the last save

    def track(self, order: bt.Order | None, role: str, reason: str) -> bt.Order | None:
        if order is not None:
            self.roles[order.ref] = role
            self.reasons[order.ref] = reason
            self.changed = True
        return order

    def role(self, ref: int) -> str | None:
        return self.roles.get(ref)

    def reason(self, ref: int, default: str = "signal") -> str:
        return self.reasons.get(ref, default)

    def cancel(self, host: OrderHost, orders: list[bt.Order]) -> None:
        """Cancel the live ones, marked first: cancelling one cancels its OCO siblings."""
        alive = [o for o in orders if o.alive()]
        self.expected_cancel.update(o.ref for o in alive)
        for order in alive:
            if order.alive():
                host.cancel(order)


def is_dead(order: bt.Order) -> bool:
    return order.status in (order.Canceled, order.Expired, order.Margin, order.Rejected)


def same_order(order: bt.Order, tracked: bt.Order | None) -> bool:
    # The broker notifies clones of its orders: match by reference number, not identity.
    return tracked is not None and order.ref == tracked.ref
