"""Backtest throughput: AttentionLSTMStrategy against a bare SMA crossover on the same bars, in
runonce mode (interleaved, so both see the same machine load) and in next mode."""

from __future__ import annotations

from typing import Any

import backtrader as bt
import pandas as pd
import torch

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.runners.research.cerebro import pandas_feed
from bt_attention_lstm.strategies import AttentionLSTMStrategy
from tests.perf.timing import best_time, best_times


class SmaCrossover(bt.Strategy):
    """The baseline: a bare SMA(10)/SMA(30) crossover, long only, market orders."""

    params = (("fast", 10), ("slow", 30))

    def __init__(self) -> None:
        fast, slow = bt.ind.SMA(period=self.p.fast), bt.ind.SMA(period=self.p.slow)
        self.cross = bt.ind.CrossOver(fast, slow)

    def next(self) -> None:
        if not self.position:
            if self.cross[0] > 0:
                self.buy()
        elif self.cross[0] < 0:
            self.close()


def bare_cerebro(
    df: pd.DataFrame, strategy: type[bt.Strategy], runonce: bool, **params: Any
) -> int:
    """A Cerebro as runners.research.cerebro.run_cerebro builds it, without the result analyzers
    (the baseline has none either). Returns the number of closed trades."""
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce)
    cerebro.adddata(pandas_feed(df))
    cerebro.broker.setcash(100_000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addstrategy(strategy, **params)
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    strat = cerebro.run()[0]
    return int(strat.analyzers.trades.get_analysis().get("total", {}).get("closed", 0))


def bench_backtests(
    df: pd.DataFrame, artifact: Artifact, device: torch.device, repeat: int, threshold: float
) -> dict[str, float]:
    """Baseline and AttentionLSTMStrategy in runonce mode, interleaved so both see the same
    machine load; best of ``repeat`` each."""
    trades: dict[str, int] = {}

    def baseline() -> None:
        trades["baseline"] = bare_cerebro(df, SmaCrossover, runonce=True)

    def ours() -> None:
        trades["runonce"] = bare_cerebro(
            df,
            AttentionLSTMStrategy,
            runonce=True,
            artifact=artifact,
            device=str(device),
            threshold=threshold,
        )

    base_wall = base_cpu = ours_wall = ours_cpu = float("inf")
    for _ in range(repeat):
        wall, cpu = best_times(baseline, 1)
        base_wall, base_cpu = min(base_wall, wall), min(base_cpu, cpu)
        wall, cpu = best_times(ours, 1)
        ours_wall, ours_cpu = min(ours_wall, wall), min(ours_cpu, cpu)
    n = len(df)
    return {
        "baseline_bars_per_s": n / base_wall,
        "runonce_bars_per_s": n / ours_wall,
        "runonce_ratio": ours_wall / base_wall,
        "baseline_cpu_s": base_cpu,
        "runonce_cpu_s": ours_cpu,
        "baseline_trades": trades["baseline"],
        "runonce_trades": trades["runonce"],
    }


def bench_next_mode(
    df: pd.DataFrame, artifact: Artifact, device: torch.device, repeat: int, threshold: float
) -> dict[str, float]:
    seconds = best_time(
        lambda: bare_cerebro(
            df,
            AttentionLSTMStrategy,
            runonce=False,
            artifact=artifact,
            device=str(device),
            threshold=threshold,
        ),
        repeat,
    )
    return {"next_bars": len(df), "next_bars_per_s": len(df) / seconds}
