"""ListFeed: an OHLCV frame as a backtrader feed that loads one bar per ``_load`` from plain
lists. Bars arrive as from any feed (preloaded or not); it only skips PandasData's per-row
pandas indexing, a third of a bar's cost in a next-mode run, so that the parity tests can run
every shipped file in every mode."""

from __future__ import annotations

import backtrader as bt
import pandas as pd


class ListFeed(bt.feed.DataBase):
    params = (("frame", None),)

    def start(self) -> None:
        super().start()
        df: pd.DataFrame = self.p.frame
        times = [bt.date2num(ts) for ts in df.index.to_pydatetime()]
        columns = (df[k].tolist() for k in ("open", "high", "low", "close", "volume"))
        self._rows = list(zip(times, *columns, strict=True))
        self._next_row = 0

    def _load(self) -> bool:
        if self._next_row >= len(self._rows):
            return False
        dt, o, h, lo, c, v = self._rows[self._next_row]
        self._next_row += 1
        lines = self.lines
        lines.datetime[0] = dt
        lines.open[0] = o
        lines.high[0] = h
        lines.low[0] = lo
        lines.close[0] = c
        lines.volume[0] = v
        lines.openinterest[0] = 0.0
        return True
