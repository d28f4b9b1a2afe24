"""A per-trade record the reports read: entry, exit, side, size, prices, PnL, exit reason."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class TradeRecord:
    data: str
    side: str  # "long" | "short"
    size: float
    entry_time: Any
    entry_price: float
    exit_time: Any = None
    exit_price: float = float("nan")
    pnl: float = float("nan")
    pnl_pct: float = float("nan")
    bars_held: int = 0
    exit_reason: str = ""  # signal | stop | trail | take-profit | unprotected | open
    commission: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
