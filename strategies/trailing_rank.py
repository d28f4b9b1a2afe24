"""TrailingRank: where a line's latest reading ranks among its last ``lookback`` readings.

The regime filter asks it every bar. Re-reading the window each bar costs O(lookback) array work
a bar; this keeps the window's finite readings in a sorted list instead, so a bar costs one
insertion and one removal (O(log n) search, a short memmove), and the rank is a bisection. It
equals ``mean(window[isfinite(window)] <= latest)`` to the bit.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


class TrailingRank:
    """The last ``lookback`` readings of one line (its own bar counting), and their finite
    values sorted."""

    def __init__(self, lookback: int) -> None:
        if lookback < 1:
            raise ValueError(f"`lookback` must be >= 1, got {lookback}")
        self.lookback = lookback
        self._window: deque[float] = deque()
        self._sorted: list[float] = []
        self._bars = 0  # bars of the feed already in the window

    @property
    def finite(self) -> int:
        """Finite readings in the window."""
        return len(self._sorted)

    def catch_up(self, bars: int, reading: Callable[[int], float]) -> None:
        """Bring the window to the feed's ``bars``-th bar; ``reading(ago)`` is the line's value
        ``ago`` bars before the latest (0: the latest), as ``line[-ago]``."""
        new = bars - self._bars
        if new < 0:
            raise ValueError(f"the feed went back from bar {self._bars} to bar {bars}")
        if new >= self.lookback:  # nothing of the old window survives: read afresh
            self._window.clear()
            self._sorted.clear()
            new = min(bars, self.lookback)
        for ago in range(new - 1, -1, -1):
            self._push(float(reading(ago)))
        self._bars = bars

    def rank(self, bars: int, latest: float, reading: Callable[[int], float],
             min_finite: int = 1) -> float:
        """The regime filter's one call a bar: catch up to the feed's ``bars``-th bar, whose
        reading the caller holds (``latest``), and return its ``share_at_or_below``; NaN while
        the window holds fewer than ``min_finite`` finite readings. One new bar (every bar of a
        backtest) is a single insertion."""
        if bars == self._bars + 1:
            self._push(latest)
            self._bars = bars
        else:
            self.catch_up(bars, reading)
        if len(self._sorted) < min_finite:
            return math.nan
        return self.share_at_or_below(latest)

    def share_at_or_below(self, value: float) -> float:
        """Share of the window's finite readings <= ``value`` (0 for a NaN value or an empty
        window)."""
        if not self._sorted or math.isnan(value):
            return 0.0
        return bisect.bisect_right(self._sorted, value) / len(self._sorted)

    def _push(self, value: float) -> None:
        self._window.append(value)
        if math.isfinite(value):
            bisect.insort(self._sorted, value)
        if len(self._window) > self.lookback:
            old = self._window.popleft()
            if math.isfinite(old):
                del self._sorted[bisect.bisect_left(self._sorted, old)]


RANK_CHUNK = 4096  # bars compared at a time: a (chunk x lookback) boolean block stays small


def trailing_ranks(values: np.ndarray, lookback: int, min_finite: int = 1) -> np.ndarray:
    """``TrailingRank.rank`` at every bar of a finished line, at once: bar t's reading ranked
    among the line's readings t-lookback+1..t (fewer at the start), NaN while fewer than
    ``min_finite`` of them are finite, 0 for a NaN reading. Equal to the per-bar rank to the
    bit: the same integer counts, divided once."""
    if lookback < 1:
        raise ValueError(f"`lookback` must be >= 1, got {lookback}")
    v = np.asarray(values, dtype=np.float64)
    n = v.shape[0]
    finite = np.isfinite(v)
    # NaN compares False: a non-finite reading in the window never counts as at or below
    window_values = np.concatenate([np.full(lookback - 1, np.nan), np.where(finite, v, np.nan)])
    finite_so_far = np.concatenate([[0], np.cumsum(finite, dtype=np.int64)])
    counts = finite_so_far[1:] - finite_so_far[np.maximum(np.arange(n) - lookback + 1, 0)]
    at_or_below = np.empty(n, dtype=np.int64)
    windows = sliding_window_view(window_values, lookback)
    for start in range(0, n, RANK_CHUNK):
        stop = min(n, start + RANK_CHUNK)
        block = windows[start:stop] <= v[start:stop, None]
        at_or_below[start:stop] = block.sum(axis=1)
    ranks = np.where(counts > 0, at_or_below / np.maximum(counts, 1), 0.0)
    ranks[np.isnan(v)] = 0.0
    ranks[counts < min_finite] = np.nan
    return ranks
