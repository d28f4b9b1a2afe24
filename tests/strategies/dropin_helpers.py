"""Helpers of the drop-in tests: a user's own Cerebro over the sample Yahoo files."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import backtrader as bt

from tests.conftest import DATA_DIR

FILES = {"nvda": "nvda-1999-2014.txt", "yhoo": "yhoo-1996-2014.txt", "orcl": "orcl-1995-2014.txt"}
# A constant signal (confidence +0.5) with tight exits: a trade every few bars, decided by prices.
CHURN = {"threshold": 0.2, "stop_loss": 0.03, "take_profit": 0.04, "device": "cpu"}


def yahoo(symbol: str, start: str, end: str = "2014-12-31") -> bt.feeds.YahooFinanceCSVData:
    return bt.feeds.YahooFinanceCSVData(
        dataname=str(DATA_DIR / FILES[symbol]),
        fromdate=datetime.fromisoformat(start),
        todate=datetime.fromisoformat(end),
    )


def cerebro(runonce: bool = True, preload: bool = True, **kwargs: Any) -> bt.Cerebro:
    c = bt.Cerebro(stdstats=False, runonce=runonce, preload=preload, **kwargs)
    c.broker.setcash(100_000.0)
    c.broker.setcommission(commission=0.001)
    return c


def trade_keys(trades: list[Any]) -> list[tuple[Any, ...]]:
    """What identifies a trade: feed, side, size, entry/exit time and price, exit reason."""
    return [
        (t.data, t.side, t.size, str(t.entry_time), round(t.entry_price, 6), str(t.exit_time),
         round(t.exit_price, 6), t.exit_reason)
        for t in trades
    ]
