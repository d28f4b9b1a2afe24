"""FeedGate: orders only on bars a live feed reports as LIVE, never on backfilled history.

IBData, OandaData and CCXT feeds send DELAYED and a backfill of history before LIVE, and again
after a reconnection. Every backfilled bar is an old bar: an order decided on it would be a real
order at today's price. The gate follows ``notify_data``:

- LIVE opens the gate;
- DELAYED (a backfill), CONNBROKEN, DISCONNECTED and NOTSUBSCRIBED close it.

Features and the model keep warming on closed bars; only orders wait. A feed whose ``islive()``
is false (every backtest feed) is always open, so backtests are unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import backtrader as bt

from bt_attention_lstm.strategies.execution.feed_roles import feed_name

logger = logging.getLogger(__name__)

# Bars beyond the model's minperiod for TA-Lib's smoothed features (Wilder's RSI/ATR/ADX, EMAs)
# to forget their seed: (13/14)^100 < 1e-3. With 69 bars of history instead, the live
# probabilities were measured 7e-3 away from the backtest's.
WARMUP_MARGIN = 100

# A live bar more than this many bar spacings after the previous one is a data gap.
GAP_FACTOR = 5.0
# An intraday feed's break between sessions: a night, a weekend, a holiday (calendar days).
SESSION_BREAK_DAYS = 4

_CLOSING = {"DELAYED", "CONNBROKEN", "DISCONNECTED", "NOTSUBSCRIBED"}


class FeedGate:
    """Whether each data may place orders now, from the statuses its feed has reported."""

    def __init__(self, datas: Iterable[bt.DataBase], warmup_bars: int) -> None:
        self.warmup_bars = warmup_bars
        self._status: dict[bt.DataBase, str] = {}
        self._spacing: dict[bt.DataBase, float] = {}
        self._session_open: dict[bt.DataBase, float] = {}  # earliest first-bar time of a day
        for data in datas:
            self._status[data] = "LIVE?" if data.islive() else "HISTORICAL"

    def status(self, data: bt.DataBase) -> str:
        """The feed's last reported status; "HISTORICAL" for a backtest feed."""
        return self._status.get(data, "HISTORICAL")

    def is_open(self, data: bt.DataBase) -> bool:
        return self.status(data) in ("HISTORICAL", "LIVE")

    def update(self, data: bt.DataBase, status: int) -> None:
        """Record a ``notify_data`` status; log what it means for trading."""
        if data not in self._status or not data.islive():
            return  # a historical feed's statuses (some send them) never gate a backtest
        name = data._getstatusname(status)
        previous = self._status[data]
        self._status[data] = name
        feed = feed_name(data)
        if name == "LIVE":
            logger.info("%s: feed LIVE after %d bars: orders enabled", feed, len(data))
            self._check_history(data)
        elif name in _CLOSING:
            if previous == "LIVE":
                logger.warning("%s: feed %s: orders paused until LIVE", feed, name)
            else:
                logger.info("%s: feed %s: orders wait for LIVE", feed, name)
        else:
            logger.info("%s: feed %s", feed, name)

    def _check_history(self, data: bt.DataBase) -> None:
        needed = self.warmup_bars + WARMUP_MARGIN
        if len(data) < needed:
            logger.warning(
                "%s: only %d bars of history before LIVE; the model needs %d to warm up and "
                "about %d more for its smoothed features to settle: early live probabilities "
                "can differ from a backtest's (backfill at least %d bars)",
                feed_name(data),
                len(data),
                self.warmup_bars,
                WARMUP_MARGIN,
                needed,
            )

    def gap(self, data: bt.DataBase) -> str | None:
        """A message when this live bar comes after a data gap (missing bars), else None.

        A gap is more than ``GAP_FACTOR`` bar spacings (the smallest spacing seen) since the
        previous bar. An intraday feed's session breaks are not gaps: a bar that opens a new
        day within ``SESSION_BREAK_DAYS`` calendar days (a night, a weekend, a holiday) is a
        gap only when it comes more than ``GAP_FACTOR`` spacings after the day's usual first
        bar time (the earliest seen)."""
        if len(data) < 2:
            return None
        now, before = data.datetime[0], data.datetime[-1]
        step = now - before
        usual = self._spacing.get(data)
        if step > 0:
            self._spacing[data] = step if usual is None else min(usual, step)
        if usual is None or step <= GAP_FACTOR * usual:
            return None
        if usual < 1.0 and int(now) != int(before):  # an intraday feed's new day
            opening = now - int(now)
            first = self._session_open.get(data)
            self._session_open[data] = opening if first is None else min(first, opening)
            late = first is not None and opening > first + GAP_FACTOR * usual
            if int(now) - int(before) <= SESSION_BREAK_DAYS and not late:
                return None
        return (
            f"data gap: {step / usual:.0f} bar spacings since the previous bar "
            f"({data.num2date(before)}); bars are missing from the feed"
        )
