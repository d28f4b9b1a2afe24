"""backtrader analyzers for AttentionLSTMStrategy runs."""

from __future__ import annotations

import logging
from typing import Any

import backtrader as bt

logger = logging.getLogger(__name__)


class TradeRecords(bt.Analyzer):
    """The strategy's trade records, one dict per trade (``TradeRecord`` fields: data, side,
    size, entry/exit time and price, pnl, pnl_pct, bars_held, exit_reason, commission).

    ``cerebro.optstrategy`` returns ``OptReturn`` objects that keep only params and analyzers:
    add this analyzer and every optimisation run still carries its trades::

        cerebro.addanalyzer(TradeRecords, _name="trades")
        for run in cerebro.run(maxcpus=1):
            trades = run[0].analyzers.trades.get_analysis()

    Positions still open at the end are recorded with exit_reason "open", valued at the last
    close (the strategy's ``stop()`` runs before analyzers stop). A strategy without
    ``trade_rows()`` yields an empty list.
    """

    def create_analysis(self) -> None:
        self.rets: list[dict[str, Any]] = []

    def stop(self) -> None:
        # Copied now: optstrategy detaches the analyzer from its strategy after the run.
        rows = getattr(self.strategy, "trade_rows", None)
        self.rets = [dict(row) for row in rows()] if callable(rows) else []
        logger.debug("TradeRecords: %d trades", len(self.rets))

    def get_analysis(self) -> list[dict[str, Any]]:
        return self.rets
