"""What one live bar costs the plugin, end to end: features, the model step and the decision.

``bar_latency`` runs ``AttentionLSTMStrategy`` in a Cerebro with ``preload=False`` (bars arrive
one at a time, as from a live feed) and times every bar after the warm-up around the strategy's
``_next``, which is what backtrader runs for a bar once the feed has delivered it: the
FeatureVector update (``models.features.streaming``), the ModelSignal step (scale the row,
advance the windows in flight, finish the window) and the strategy's ``next`` (sizing, the
decision, any orders). Loading the bar from the feed and the broker's matching are not in it.
The FeatureVector's and the ModelSignal's own shares are timed as well; the decision's is the
rest. Wall-clock figures are p50/p99 over the timed bars; ``cpu_p50`` is the bar's CPU time
(what an idle core would take).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
import torch

from bt_attention_lstm.models.artifact import Artifact
from bt_attention_lstm.models.features.compute import warmup_bars
from bt_attention_lstm.runners.research.cerebro import pandas_feed
from bt_attention_lstm.strategies import AttentionLSTMStrategy

# Bars after the strategy's warm-up that are run but not timed (first allocations, caches).
SETTLE_BARS = 100
# Bars timed (at most: fewer on a short market).
LATENCY_BARS = 2000


def _timed(indicator: bt.Indicator, sink: list[int]) -> None:
    """Make ``indicator._next`` (what the strategy runs for it each bar) add its wall time in
    ns to ``sink[0]``."""
    inner: Callable[[], None] = indicator._next

    def timed_next() -> None:
        start = time.perf_counter_ns()
        inner()
        sink[0] += time.perf_counter_ns() - start

    indicator._next = timed_next


class TimedStrategy(AttentionLSTMStrategy):
    """AttentionLSTMStrategy that records, per bar: its length, the bar's wall and CPU time
    (ns) and the FeatureVector's and ModelSignal's wall time (ns)."""

    def __init__(self) -> None:
        super().__init__()
        self.bar_log: list[tuple[int, int, int, int, int]] = []
        self._features_ns, self._signal_ns = [0], [0]
        for data in self.trade_datas:
            _timed(self.features[data], self._features_ns)
            _timed(self.signals[data], self._signal_ns)

    def _next(self) -> None:
        self._features_ns[0] = self._signal_ns[0] = 0
        start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
        super()._next()
        wall, cpu = time.perf_counter_ns() - start, time.thread_time_ns() - start_cpu
        self.bar_log.append((len(self), wall, cpu, self._features_ns[0], self._signal_ns[0]))


def bar_latency(
    df: pd.DataFrame, artifact: Artifact, device: str, bars: int, **params: Any
) -> dict[str, float]:
    """Per-bar figures (ms) over up to ``bars`` bars after the warm-up of a live-like run on
    the first bars of ``df``; ``params`` go to the strategy (threshold, ...)."""
    first = warmup_bars(artifact.feature_spec) + artifact.seq_len + SETTLE_BARS
    cerebro = bt.Cerebro(stdstats=False, preload=False)
    cerebro.adddata(pandas_feed(df.iloc[: first + bars]))
    cerebro.broker.setcash(100_000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addstrategy(TimedStrategy, artifact=artifact, device=device, **params)
    strat: TimedStrategy = cerebro.run(runonce=False)[0]
    log = np.asarray(strat.bar_log, dtype=np.float64).reshape(-1, 5)
    timed = log[log[:, 0] > strat._minperiod + SETTLE_BARS]
    if timed.shape[0] == 0:
        raise ValueError(f"a market of {len(df)} bars leaves no bar to time after the warm-up")
    wall, cpu, features, signal = (timed[:, k] / 1e6 for k in (1, 2, 3, 4))
    return {
        "p50": float(np.percentile(wall, 50)),
        "p99": float(np.percentile(wall, 99)),
        "cpu_p50": float(np.percentile(cpu, 50)),
        "features_p50": float(np.percentile(features, 50)),
        "signal_p50": float(np.percentile(signal, 50)),
        "decision_p50": float(np.percentile(wall - features - signal, 50)),
        "bars": int(timed.shape[0]),
    }


def bench_latency(
    df: pd.DataFrame, artifact: Artifact, device: torch.device, threshold: float
) -> dict[str, Any]:
    """The per-bar figure: what one live bar costs end to end (``bar_latency``): the
    streaming features, the model step and the strategy's decision, timed around the strategy's
    bar in a ``preload=False`` run over up to ``LATENCY_BARS`` bars after the warm-up; with the
    FeatureVector's, ModelSignal's and decision's shares (p50 each)."""
    latency = bar_latency(df, artifact, str(device), LATENCY_BARS, threshold=threshold)
    return {
        "per_bar_latency_ms_p50": latency["p50"],
        "per_bar_latency_ms_p99": latency["p99"],
        "per_bar_cpu_ms_p50": latency["cpu_p50"],
        "per_bar_includes_features": True,
        "per_bar_features_ms_p50": latency["features_p50"],
        "per_bar_signal_ms_p50": latency["signal_p50"],
        "per_bar_decision_ms_p50": latency["decision_p50"],
        "per_bar_bars": latency["bars"],
    }
