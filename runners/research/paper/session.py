"""One paper-trading session: a backfill, then bars released one by one, as a live feed does.

The strategy runs as it would against a real store: ``LiveReplayFeed`` reports DELAYED for the
backfill and LIVE after it, the feed gate keeps orders to LIVE bars, the decision log and the
state file are on, and ``PaperBroker`` fills orders only against bars that arrive after them.
The report covers the live part only.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import backtrader as bt
import pandas as pd

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.models.errors import ConfigError, DataError
from bt_attention_lstm.models.features.compute import warmup_bars
from bt_attention_lstm.runners.research.cerebro import (
    BrokerConfig,
    CerebroRun,
    bar_timeframe,
    collect_result,
)
from bt_attention_lstm.strategies.attention_lstm import AttentionLSTMStrategy
from bt_attention_lstm.strategies.live.feed import LiveReplayFeed
from bt_attention_lstm.strategies.live.gate import WARMUP_MARGIN
from bt_attention_lstm.strategies.live.paper_broker import PaperBroker

logger = logging.getLogger(__name__)


def needed_backfill(artifact: Artifact) -> int:
    """Bars of history a live feed must send before LIVE for ``artifact`` to trade as it does in
    a backtest: the model's minperiod (feature warm-up + sequence length) plus the bars its
    smoothed features need to settle, the count the feed gate warns below."""
    return warmup_bars(artifact.feature_spec) + artifact.seq_len + WARMUP_MARGIN


@dataclass(frozen=True)
class SessionSettings:
    """How the replay feed releases the bars, and the live safeguards' files."""

    backfill: int = 300  # bars of history sent as DELAYED before LIVE
    speed: float = 0.0  # live bars per second; 0 releases them as fast as the strategy runs
    state_path: Path | None = None
    decision_log: Path | None = None


@dataclass
class PaperSession:
    """A finished session: its live part in a backtest's shape, and what the live run saw."""

    result: CerebroRun  # the live part, in backtest.py's shape
    live_start: pd.Timestamp
    backfill_orders: int  # orders decided on DELAYED bars: always 0
    decisions: int  # decisions on live bars
    rss_kb_per_bar: float | None  # growth of the process's memory per live bar


def rss_kb() -> float:
    """Resident memory of this process in KB (Linux /proc; elsewhere the peak, from resource)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1024.0
    except (OSError, ValueError, IndexError):
        import resource

        return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


class _LiveExposure(bt.Analyzer):
    """Per bar: time and whether the strategy holds a position (exposure of the live part);
    and the process's RSS at the first and the last live bar (memory growth per bar)."""

    def start(self) -> None:
        self.rows: list[tuple[Any, bool]] = []
        self.rss: list[tuple[int, float]] = []  # (bar count, KB) at the first and last live bar

    def next(self) -> None:
        strategy = self.strategy
        held = any(strategy.owned(d) for d in strategy.datas)
        self.rows.append((strategy.datetime.datetime(0), bool(held)))
        if strategy.gate.status(strategy.datas[0]) == "LIVE":
            sample = (len(self.rows), rss_kb())
            self.rss[1:] = [sample] if self.rss else []
            if not self.rss:
                self.rss.append(sample)

    def get_analysis(self) -> dict[str, Any]:
        return {"rows": self.rows, "rss": self.rss}


def check_session(df: pd.DataFrame, config: SessionSettings) -> None:
    """Refuse a backfill below one bar, a negative speed, or fewer than two live bars."""
    if config.backfill < 1:
        raise ConfigError(f"`backfill` must be at least 1 bar, got {config.backfill}")
    if config.speed < 0:
        raise ConfigError(f"`speed` must be >= 0 (live bars per second), got {config.speed}")
    if len(df) - config.backfill < 2:
        raise DataError(
            f"{len(df)} bars with a backfill of {config.backfill} leave fewer than two live "
            "bars; use a smaller `backfill` or more data"
        )


def replay_session(
    df: pd.DataFrame,
    artifact: Artifact,
    strategy_params: Mapping[str, Any],
    broker: BrokerConfig,
    config: SessionSettings,
    name: str = "data0",
) -> PaperSession:
    """Replay ``df`` as a live session and collect the live part like a backtest."""
    check_session(df, config)  # a backfill too short for the model is warned about at LIVE
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.setbroker(PaperBroker())
    timeframe, compression = bar_timeframe(df.index)
    feed = LiveReplayFeed(
        dataname=df,
        name=name,
        backfill=config.backfill,
        interval=1.0 / config.speed if config.speed > 0 else 0.0,
        timeframe=timeframe,
        compression=compression,
    )
    cerebro.adddata(feed)
    cerebro.broker.setcash(broker.cash)
    cerebro.broker.setcommission(commission=broker.commission)
    if broker.slippage:
        cerebro.broker.set_slippage_perc(broker.slippage)
    params = {
        **strategy_params,
        "state_path": str(config.state_path) if config.state_path else None,
        "decision_log": str(config.decision_log) if config.decision_log else None,
    }
    cerebro.addstrategy(AttentionLSTMStrategy, artifact=artifact, **params)
    cerebro.addanalyzer(bt.analyzers.DrawDown, _name="drawdown")
    cerebro.addanalyzer(_LiveExposure, _name="live_exposure")
    strat = cerebro.run()[0]
    live_start = feed.live_start
    if live_start is None:
        raise DataError("the session ended before its first live bar")
    result = collect_result(df, strat, live_start, broker.cash)
    rows = strat.analyzers.live_exposure.get_analysis()["rows"]
    live = [held for when, held in rows if pd.Timestamp(when) >= live_start]
    result = dataclasses.replace(result, exposure=sum(live) / len(live) if live else 0.0)
    decided = [o for o in strat.broker.orders if strat.order_role(o.ref) in ("entry", "exit")]
    early = sum(pd.Timestamp(bt.num2date(o.created.dt)) < live_start for o in decided)
    rss = strat.analyzers.live_exposure.get_analysis()["rss"]
    growth = None
    if len(rss) == 2 and rss[1][0] > rss[0][0]:
        growth = (rss[1][1] - rss[0][1]) / (rss[1][0] - rss[0][0])
    return PaperSession(result, live_start, int(early), len(live), growth)
