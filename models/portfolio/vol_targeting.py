"""Volatility targeting: the ex-ante volatility of a price series and the returns a position
earns once scaled to a volatility target, after a cost per unit of weight traded.

One definition serves the training objective, the trading rules, the evaluation and the
strategy (Lim, Zohren & Roberts, 2019):

- sigma_t = sqrt(EMA_span(r^2)) of one-bar log returns r up to and including bar t (TA-Lib's EMA,
  seeded by the mean of its first ``span`` values), the ex-ante daily volatility;
- w_t = clip(position_t * target_vol / (sigma_t * sqrt(periods_per_year)), -leverage, leverage),
  the weight held from the close of bar t;
- R_{t+1} = w_t * (C_{t+1} / C_t - 1) - cost * |w_t - w_{t-1}|, the return it earns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import talib
from numpy.typing import ArrayLike

EX_ANTE_SPAN = 60
TARGET_VOL = 0.15
MAX_LEVERAGE = 1.0  # a cash account: never more than the equity


def ex_ante_vol(close: np.ndarray, span: int = EX_ANTE_SPAN) -> np.ndarray:
    """Per-bar ex-ante volatility sigma_t (NaN during the warm-up); causal: bar t reads bars
    <= t only."""
    c = np.ascontiguousarray(close, dtype=np.float64)
    r = np.full(c.shape[0], np.nan)
    if c.shape[0] > 1:
        r[1:] = np.diff(np.log(c))
    return ewm_vol_of_returns(r, span)


def ewm_vol_of_returns(log_returns: np.ndarray, span: int = EX_ANTE_SPAN) -> np.ndarray:
    """sqrt(EMA_span(r^2)) of one-bar log returns (leading NaNs allowed)."""
    r = np.ascontiguousarray(log_returns, dtype=np.float64)
    ema = talib.EMA(r * r, timeperiod=span)
    return np.sqrt(ema)


@dataclass(frozen=True)
class VolTarget:
    """How a position becomes a weight: ``target_vol`` a year over ``periods_per_year`` bars,
    never more than ``max_leverage`` times equity."""

    target_vol: float = TARGET_VOL
    max_leverage: float = MAX_LEVERAGE
    periods_per_year: float = 252.0

    def weights(self, position: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """w_t from positions in [-1, 1] and sigma_t; NaN where either is undefined, 0 where
        sigma is 0 (a flat price)."""
        pos = np.asarray(position, dtype=np.float64)
        sig = np.asarray(sigma, dtype=np.float64) * np.sqrt(self.periods_per_year)
        scale = np.divide(
            self.target_vol, sig, out=np.zeros_like(sig), where=np.isfinite(sig) & (sig > 0)
        )
        scale[~np.isfinite(sig)] = np.nan
        return np.clip(pos * scale, -self.max_leverage, self.max_leverage)

    def weight(self, position: float, sigma: float) -> float:
        """``weights`` for one bar, in plain floats: the same operations in the same order (so
        the same result to the bit), without a strategy's per-bar array allocations."""
        sig = float(sigma) * math.sqrt(self.periods_per_year)
        if not math.isfinite(sig):
            return math.nan
        w = float(position) * (self.target_vol / sig if sig > 0 else 0.0)
        if math.isnan(w):
            return w
        return min(max(w, -self.max_leverage), self.max_leverage)


def captured_returns(
    weights: np.ndarray, close: np.ndarray, cost: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """(net returns, |weight changes|), both aligned with bar t+1: entry k is what the weight
    held from bar k-1's close earned over bar k, less ``cost`` (a fraction, 0.001 = 10 bps) per
    unit of weight traded at bar k-1. Entry 0 and bars whose weight is undefined are NaN;
    undefined weights count as 0 held (flat), so a warm-up costs nothing."""
    w = np.nan_to_num(np.asarray(weights, dtype=np.float64), nan=0.0)
    c = np.asarray(close, dtype=np.float64)
    n = c.shape[0]
    gross = np.full(n, np.nan)
    traded = np.full(n, np.nan)
    if n < 2:
        return gross, traded
    simple = c[1:] / c[:-1] - 1.0
    change = np.abs(np.diff(np.concatenate([[0.0], w])))[:-1]
    gross[1:] = w[:-1] * simple - cost * change
    traded[1:] = change
    undefined = ~np.isfinite(np.asarray(weights, dtype=np.float64))
    gross[1:][undefined[:-1]] = np.nan
    traded[1:][undefined[:-1]] = np.nan
    return gross, traded


def annualised_sharpe(returns: ArrayLike, periods_per_year: float) -> float:
    """mean / std (ddof 1) x sqrt(periods_per_year), as quantstats; 0 when there is no risk
    (a strategy that never traded has no edge to show)."""
    x = np.asarray(returns, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return 0.0
    std = float(np.std(x, ddof=1))
    if not std > 0.0 or np.all(x == x[0]):
        return 0.0
    return float(np.mean(x)) / std * math.sqrt(periods_per_year)
