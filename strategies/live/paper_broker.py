"""PaperBroker: backtrader's BackBroker for live feeds, matching orders against new bars only.

Cerebro runs the broker on every pass of its loop, also when a live feed had nothing new (its
``_load`` returned None). BackBroker then matches stop and limit orders against the bar they
were placed on, after that bar has closed: a stop placed at the close of a bar fills inside that
bar's range, which no real broker can do (and which a backtest never does). PaperBroker skips
those passes: orders are matched against a bar that arrived after they were placed, exactly as
in a backtest. Use it for paper trading with live-like feeds (``runners/paper.py`` does).
"""

from __future__ import annotations

import backtrader as bt


class PaperBroker(bt.brokers.BackBroker):
    def start(self) -> None:
        super().start()
        self._bars_seen: tuple[int, ...] | None = None

    def next(self) -> None:
        cerebro = getattr(self, "cerebro", None)
        bars = tuple(len(d) for d in cerebro.datas) if cerebro is not None else None
        if bars is not None and bars == self._bars_seen:
            return  # an empty poll of a live feed: no new prices to match orders against
        self._bars_seen = bars
        super().next()
