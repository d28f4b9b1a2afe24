"""LiveReplayFeed: a DataFrame replayed the way IBData, OandaData and CCXT feeds deliver bars.

It is the live-like feed of ``runners/paper.py`` and of the live tests: ``islive()`` is true (so
Cerebro turns preload and runonce off), it reports DELAYED and sends a backfill of history, then
reports LIVE and releases the remaining bars one by one. While it waits for the next live bar,
``_load()`` returns None, as a live feed does when its queue is empty. Optionally the connection
breaks after some live bars (CONNBROKEN), and on reconnection the bars missed meanwhile arrive as a
second DELAYED backfill before LIVE again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import backtrader as bt
import pandas as pd

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Step:
    """What ``_load`` does next: put a status, wait one poll, or deliver the bar at ``row``."""

    status: int | None = None
    row: int | None = None


class LiveReplayFeed(bt.feed.DataBase):
    """Replays ``dataname`` (an OHLCV DataFrame with a DatetimeIndex) as a live feed.

    Params:
      - backfill (None): bars sent as DELAYED history before LIVE (None: all but ``live_bars``)
      - live_bars (None): with ``backfill`` None, the number of bars released as LIVE
      - interval (0.0): seconds between live bars (0: release them as fast as Cerebro asks)
      - polls (1): empty polls (``_load`` returns None) before each live bar
      - disconnect_after (None): live bars after which the connection breaks (CONNBROKEN)
      - missed (3): bars that pass during the break; they come back as a DELAYED backfill
    """

    params = (
        ("backfill", None),
        ("live_bars", None),
        ("interval", 0.0),
        ("polls", 1),
        ("disconnect_after", None),
        ("missed", 3),
    )

    def islive(self) -> bool:
        return True

    def haslivedata(self) -> bool:
        return False  # nothing queued: Cerebro may wait (qcheck) for the next bar

    def start(self) -> None:
        super().start()
        df: pd.DataFrame = self.p.dataname
        self._rows = list(
            zip(
                (bt.date2num(ts.to_pydatetime()) for ts in df.index),
                df["open"].to_numpy(dtype=float),
                df["high"].to_numpy(dtype=float),
                df["low"].to_numpy(dtype=float),
                df["close"].to_numpy(dtype=float),
                df["volume"].to_numpy(dtype=float),
                strict=True,
            )
        )
        self._steps = self.plan(len(df))
        self._pos = 0
        self._next_release = 0.0
        self.live_start: pd.Timestamp | None = None  # the first bar released as LIVE

    def first_live_row(self, n_rows: int) -> int:
        if self.p.backfill is not None:
            return max(0, min(int(self.p.backfill), n_rows))
        if self.p.live_bars is not None:
            return max(0, n_rows - int(self.p.live_bars))
        return 0

    def plan(self, n_rows: int) -> list[_Step]:
        """The whole session as steps: statuses, empty polls and bars, in order."""
        first_live = self.first_live_row(n_rows)
        cut = None if self.p.disconnect_after is None else first_live + int(self.p.disconnect_after)
        waits = [_Step()] * int(self.p.polls)
        steps = [_Step(status=self.DELAYED)] + [_Step(row=i) for i in range(first_live)]
        i, live = first_live, False
        while i < n_rows:
            if i == cut:
                # The connection breaks; the bars that pass meanwhile come back as a backfill.
                gap_end = min(n_rows, i + int(self.p.missed))
                steps += [_Step(status=self.CONNBROKEN), _Step(), _Step(status=self.DELAYED)]
                steps += [_Step(row=j) for j in range(i, gap_end)]
                i, cut, live = gap_end, None, False
                continue
            if not live:
                steps.append(_Step(status=self.LIVE))
                live = True
            steps += waits + [_Step(row=i)]
            i += 1
        return steps

    def _load(self) -> bool | None:
        while self._pos < len(self._steps):
            step = self._steps[self._pos]
            if step.status is not None:
                self.put_notification(step.status)
                self._pos += 1
                continue
            if step.row is None:
                self._pos += 1
                return None  # nothing in the queue yet
            if self._laststatus == self.LIVE and not self._released():
                return None
            self._pos += 1
            self._fill(step.row)
            return True
        return False

    def _released(self) -> bool:
        """Paces live bars ``interval`` seconds apart, sleeping briefly as a queue wait would."""
        if self.p.interval <= 0:
            return True
        now = time.monotonic()
        if now < self._next_release:
            time.sleep(min(self._next_release - now, 0.05))
            return False
        self._next_release = now + self.p.interval
        return True

    def _fill(self, row: int) -> None:
        dt, o, h, lo, c, v = self._rows[row]
        if self._laststatus == self.LIVE and self.live_start is None:
            self.live_start = pd.Timestamp(bt.num2date(dt))
        lines = self.lines
        lines.datetime[0] = dt
        lines.open[0] = o
        lines.high[0] = h
        lines.low[0] = lo
        lines.close[0] = c
        lines.volume[0] = v
        lines.openinterest[0] = 0.0

