"""The benchmark's clock and its market: best-of-N wall and CPU time, seeded synthetic bars."""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd

from bt_attention_lstm.models.data.synthetic import synthetic_market

SEED = 0


def market(n_bars: int, seed: int = SEED) -> pd.DataFrame:
    # Minute bars: a million business days would run past pandas' last representable date.
    return synthetic_market(n_bars, seed=seed, start="2020-01-01", freq="min")


def best_time(fn: Callable[[], object], repeat: int) -> float:
    return best_times(fn, repeat)[0]


def best_times(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best wall-clock seconds and best CPU seconds of this process (all its threads) over
    ``repeat`` runs. CPU time hardly moves when other processes share the cores."""
    wall, cpu = float("inf"), float("inf")
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu
