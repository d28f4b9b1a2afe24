"""FeedBook: everything the strategy keeps about one traded feed, in one dataclass.

What it owns (never the broker's whole position), the orders in flight, the protective groups,
the open trade and its exit fills, the protective levels, and the last exit (for the cooldown).
The ``OrderManager`` changes it on every order event; the restart state is read from it and
written back to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import backtrader as bt

from bt_attention_lstm.strategies.execution.trade_record import TradeRecord

EPS = 1e-9  # sizes below this are zero (fractional sizes are floats)


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


@dataclass
class LastExit:
    """The last time the strategy's position in a feed went flat."""

    bar: int | None  # len(data) at the exit; None until a restored exit is placed in history
    time: datetime | None
    side: str  # "long" | "short": the side that closed
    reason: str


@dataclass
class FeedBook:
    data: bt.DataBase
    name: str
    owned: float = 0.0
    entry_order: bt.Order | None = None
    exit_order: bt.Order | None = None  # an exit or a reduction
    protective: list[bt.Order] = field(default_factory=list)
    groups: list[list[bt.Order]] = field(default_factory=list)  # OCO groups, each for a part
    # stop-type orders that guard the units an exit or reduction has not sold yet
    guards: list[bt.Order] = field(default_factory=list)
    open_trade: TradeRecord | None = None
    exits: FillTally = field(default_factory=FillTally)
    levels: ProtectLevels | None = None
    protect_attempts: int = 0
    reprotect: bool = False  # a dead reduction left units without a group
    entry_bar: int | None = None
    last_exit: LastExit | None = None
    reconciled: bool = False

    @property
    def flat(self) -> bool:
        return abs(self.owned) < EPS

    @property
    def busy(self) -> bool:
        """An entry, exit or reduction is in flight."""
        return self.entry_order is not None or self.exit_order is not None

    def alive_protective(self) -> list[bt.Order]:
        return [o for o in self.protective if o.alive()]

    def protection_pending(self) -> bool:
        """Protective orders created but not yet accepted cannot be cancelled this bar."""
        # most bars (flat) have none: skip building the generator
        return bool(self.protective) and any(o.status in (o.Created, o.Submitted)
                                             for o in self.protective)

    def coverage(self) -> float:
        """Units covered by live protective groups (each group counts once)."""
        total = 0.0
        for group in self.groups:
            total += max((abs(o.executed.remsize) for o in group if o.alive()), default=0.0)
        return total

    def forget_position(self) -> None:
        self.owned = 0.0
        self.open_trade = None
        self.levels = None
